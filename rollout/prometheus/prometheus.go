// Package prometheus is the rollout controller's metric provider for the Prometheus HTTP
// API (POST /api/v1/query), which Prometheus, Thanos, Mimir, VictoriaMetrics and Amazon
// Managed Service for Prometheus (with SigV4 signing) all serve.
//
// A query template with {{variant}} runs once per requested variant and must return a
// single value (a scalar, or a vector of at most one series). A template without it runs
// once and must return one series per variant, labelled `variant` (sum by (variant) ...).
// NaN and ±Inf mean no data: that variant is absent from the result.
package prometheus

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/edgeflag/edgeflag/rollout"
)

// DefaultTimeout bounds one HTTP request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Retries of a query after a transient failure: see Config.Retries.
const (
	DefaultRetries       = 2                      // retries when Config.Retries is zero
	MaxRetries           = 10                     // the most Config.Retries may ask for
	DefaultRetryDelay    = 200 * time.Millisecond // the first backoff when Config.RetryDelay is zero
	DefaultMaxRetryDelay = 5 * time.Second        // the longest wait when Config.MaxRetryDelay is zero
)

// Environment variables NewFromEnv reads.
const (
	EnvURL         = "EDGEFLAG_PROMETHEUS_URL"          // base URL (required)
	EnvToken       = "EDGEFLAG_PROMETHEUS_TOKEN"        // bearer token (optional)
	EnvSigV4Region = "EDGEFLAG_PROMETHEUS_SIGV4_REGION" // AWS region: sign requests with SigV4 (optional)
	EnvTimeout     = "EDGEFLAG_PROMETHEUS_TIMEOUT"      // Go duration, e.g. 10s (optional)
	EnvRetries     = "EDGEFLAG_PROMETHEUS_RETRIES"      // retries after a transient failure, 0 to 10 (optional, default 2)
)

// Config configures a Provider.
type Config struct {
	// URL is the base URL the API paths are appended to: http://prometheus:9090, or
	// https://aps-workspaces.<region>.amazonaws.com/workspaces/<id> for Amazon Managed
	// Service for Prometheus.
	URL string
	// BearerToken, when set, is sent as "Authorization: Bearer <token>".
	BearerToken string
	// SigV4, when set, signs every request with AWS Signature Version 4.
	SigV4 *SigV4
	// Timeout bounds each HTTP request, that is each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a query is sent again after a transient failure: a
	// connection refused or reset, a connection closed without an answer, a temporary DNS
	// failure, an attempt that timed out, or HTTP 429, 502, 503 or 504. Other errors (a bad query's 400, an
	// execution error's 422, a 401, any other error answer) and a canceled or expired
	// caller's context are never retried. Zero means DefaultRetries; a negative value
	// means no retries; at most MaxRetries.
	Retries int
	// RetryDelay is the wait before the first retry; it doubles for each one after (with
	// jitter: between half of it and all of it). Zero means DefaultRetryDelay. A 429 or
	// 503 answer's Retry-After header (seconds or an HTTP date) waits longer when it asks
	// to. No wait goes past the caller's context deadline: the query fails with the last
	// error instead.
	RetryDelay time.Duration
	// MaxRetryDelay caps each wait, a Retry-After included; zero means
	// DefaultMaxRetryDelay.
	MaxRetryDelay time.Duration
	// HTTPClient sends the requests; nil means a client of its own. Its Timeout, if any,
	// applies in addition to Timeout.
	HTTPClient *http.Client
}

// SigV4 configures AWS Signature Version 4 signing.
type SigV4 struct {
	Region string // required, e.g. us-east-1
	// Service is the signing name; empty means "aps" (Amazon Managed Service for Prometheus).
	Service string
	// Credentials signs the requests; nil means the default AWS configuration chain
	// (environment, shared config and credentials files, web identity, ECS, EC2 IMDS).
	Credentials aws.CredentialsProvider
}

// Provider queries a Prometheus HTTP API. It is safe for concurrent use.
type Provider struct {
	endpoint string // base URL + /api/v1/query
	base     string
	token    string
	timeout  time.Duration
	retries  int           // after the first attempt, >= 0
	delay    time.Duration // the first backoff
	maxDelay time.Duration // the cap of every wait
	client   *http.Client
	signer   *v4.Signer
	creds    aws.CredentialsProvider
	service  string
	region   string
}

var _ rollout.Provider = (*Provider)(nil)

// New returns a Provider for cfg. ctx is used only to load the default AWS credentials
// chain when SigV4 is set without Credentials.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus: URL %q must be an absolute http(s) URL such as http://prometheus:9090", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("prometheus: URL %q must not have a query or fragment", cfg.URL)
	}
	if cfg.BearerToken != "" && cfg.SigV4 != nil {
		return nil, errors.New("prometheus: a bearer token and SigV4 signing both set the Authorization header; configure one")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("prometheus: timeout %v is negative", cfg.Timeout)
	}
	if cfg.Retries > MaxRetries {
		return nil, fmt.Errorf("prometheus: %d retries is more than %d; a failure that lasts needs the next controller tick, not more retries", cfg.Retries, MaxRetries)
	}
	if cfg.RetryDelay < 0 || cfg.MaxRetryDelay < 0 {
		return nil, fmt.Errorf("prometheus: retry delays must not be negative (RetryDelay %v, MaxRetryDelay %v)", cfg.RetryDelay, cfg.MaxRetryDelay)
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	p := &Provider{
		base:     base,
		endpoint: base + "/api/v1/query",
		token:    cfg.BearerToken,
		timeout:  cfg.Timeout,
		retries:  cfg.Retries,
		delay:    cmp.Or(cfg.RetryDelay, DefaultRetryDelay),
		maxDelay: cmp.Or(cfg.MaxRetryDelay, DefaultMaxRetryDelay),
		client:   cfg.HTTPClient,
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	switch {
	case p.retries == 0:
		p.retries = DefaultRetries
	case p.retries < 0:
		p.retries = 0
	}
	if p.client == nil {
		p.client = &http.Client{}
	}
	if s := cfg.SigV4; s != nil {
		if s.Region == "" {
			return nil, errors.New("prometheus: SigV4 signing needs a region")
		}
		p.signer = v4.NewSigner()
		p.region = s.Region
		p.service = s.Service
		if p.service == "" {
			p.service = "aps"
		}
		p.creds = s.Credentials
		if p.creds == nil {
			awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(s.Region))
			if err != nil {
				return nil, fmt.Errorf("prometheus: loading AWS credentials for SigV4: %w", err)
			}
			if awsCfg.Credentials == nil {
				return nil, errors.New("prometheus: SigV4 signing: no AWS credentials found in the default configuration chain")
			}
			p.creds = awsCfg.Credentials
		}
	}
	return p, nil
}

// NewFromEnv returns a Provider configured by the environment: EDGEFLAG_PROMETHEUS_URL
// (required), EDGEFLAG_PROMETHEUS_TOKEN, EDGEFLAG_PROMETHEUS_SIGV4_REGION (sign with
// SigV4 for service "aps", credentials from the default AWS chain),
// EDGEFLAG_PROMETHEUS_TIMEOUT (a Go duration, for each attempt) and
// EDGEFLAG_PROMETHEUS_RETRIES (retries after a transient failure, 0 for none).
func NewFromEnv(ctx context.Context) (*Provider, error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// ConfigFromEnv reads a Config from the variables NewFromEnv documents, through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		URL:         strings.TrimSpace(getenv(EnvURL)),
		BearerToken: strings.TrimSpace(getenv(EnvToken)),
	}
	if cfg.URL == "" {
		return Config{}, fmt.Errorf("prometheus: %s is not set; set it to the server's base URL, e.g. http://prometheus:9090", EnvURL)
	}
	if region := strings.TrimSpace(getenv(EnvSigV4Region)); region != "" {
		if cfg.BearerToken != "" {
			return Config{}, fmt.Errorf("prometheus: %s and %s are both set; a request is signed with one or the other", EnvToken, EnvSigV4Region)
		}
		cfg.SigV4 = &SigV4{Region: region}
	}
	if s := strings.TrimSpace(getenv(EnvTimeout)); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("prometheus: %s=%q is not a positive duration such as 10s", EnvTimeout, s)
		}
		cfg.Timeout = d
	}
	if s := strings.TrimSpace(getenv(EnvRetries)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > MaxRetries {
			return Config{}, fmt.Errorf("prometheus: %s=%q is not a number of retries from 0 (none) to %d", EnvRetries, s, MaxRetries)
		}
		cfg.Retries = n
		if n == 0 {
			cfg.Retries = -1 // Config's zero is the default
		}
	}
	return cfg, nil
}

// QueryError is the error of a query: which metric, which query, and what happened.
type QueryError struct {
	Metric string
	Query  string // the expanded PromQL
	Err    error
}

// Error describes the failure with the query abbreviated.
func (e *QueryError) Error() string {
	return fmt.Sprintf("prometheus: metric %q: query %s: %v", e.Metric, abbreviate(e.Query), e.Err)
}

// Unwrap returns what happened.
func (e *QueryError) Unwrap() error { return e.Err }

// APIError is an error answer of the Prometheus API.
type APIError struct {
	StatusCode int    // the HTTP status
	Type       string // Prometheus's errorType: bad_data, execution, timeout, canceled, internal, unavailable, not_found
	Message    string // Prometheus's error, or the start of a body that is not Prometheus's
}

// Error names the status, the type and the message.
func (e *APIError) Error() string {
	s := fmt.Sprintf("HTTP %d %s from Prometheus", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Type != "" {
		s += ": " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Query runs r's PromQL template at r.End and returns the value of each variant found.
func (p *Provider) Query(ctx context.Context, r rollout.Request) (map[string]float64, error) {
	template := r.Query.PromQL
	if strings.TrimSpace(template) == "" {
		return nil, &QueryError{Metric: r.Metric, Err: errors.New("the metric has no PromQL query for this provider")}
	}
	out := make(map[string]float64, len(r.Variants))
	if rollout.HasVariantPlaceholder(template) {
		for _, variant := range r.Variants {
			q := rollout.Expand(template, r, variant)
			res, err := p.run(ctx, q, r.End)
			if err != nil {
				return nil, &QueryError{Metric: r.Metric, Query: q, Err: err}
			}
			v, ok, err := res.single()
			if err != nil {
				return nil, &QueryError{Metric: r.Metric, Query: q, Err: fmt.Errorf("variant %q: %w", variant, err)}
			}
			if ok {
				out[variant] = v
			}
		}
		return out, nil
	}
	q := rollout.Expand(template, r, "")
	res, err := p.run(ctx, q, r.End)
	if err != nil {
		return nil, &QueryError{Metric: r.Metric, Query: q, Err: err}
	}
	byVariant, err := res.byVariant()
	if err != nil {
		return nil, &QueryError{Metric: r.Metric, Query: q, Err: err}
	}
	for _, variant := range r.Variants {
		if v, ok := byVariant[variant]; ok {
			out[variant] = v
		}
	}
	return out, nil
}

// result is the data of a successful answer.
type result struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type vectorSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// single returns the one value of a per-variant query; ok is false without data.
func (r *result) single() (v float64, ok bool, err error) {
	switch r.ResultType {
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(r.Result, &s); err != nil {
			return 0, false, fmt.Errorf("decoding the scalar result: %w", err)
		}
		return sampleValue(s)
	case "vector":
		var vec []vectorSample
		if err := json.Unmarshal(r.Result, &vec); err != nil {
			return 0, false, fmt.Errorf("decoding the vector result: %w", err)
		}
		switch len(vec) {
		case 0:
			return 0, false, nil
		case 1:
			return sampleValue(vec[0].Value)
		}
		return 0, false, fmt.Errorf("%d series (%s, ...), want at most one: aggregate them, e.g. sum(...)", len(vec), labelString(vec[0].Metric))
	}
	return 0, false, fmt.Errorf("result type %q, want a vector or a scalar (a range selector needs a function such as rate(...))", r.ResultType)
}

// byVariant returns the value of each series by its variant label.
func (r *result) byVariant() (map[string]float64, error) {
	if r.ResultType != "vector" {
		return nil, fmt.Errorf("result type %q, want a vector with one series per variant (sum by (variant) ...), or use {{variant}} in the query", r.ResultType)
	}
	var vec []vectorSample
	if err := json.Unmarshal(r.Result, &vec); err != nil {
		return nil, fmt.Errorf("decoding the vector result: %w", err)
	}
	out := make(map[string]float64, len(vec))
	seen := make(map[string]bool, len(vec))
	for _, s := range vec {
		variant, ok := s.Metric["variant"]
		if !ok {
			return nil, fmt.Errorf("series %s has no variant label: sum by (variant) expected, or use {{variant}} in the query", labelString(s.Metric))
		}
		if seen[variant] {
			return nil, fmt.Errorf("several series for variant %q (%s, ...): sum by (variant) expected", variant, labelString(s.Metric))
		}
		seen[variant] = true
		v, ok, err := sampleValue(s.Value)
		if err != nil {
			return nil, fmt.Errorf("variant %q: %w", variant, err)
		}
		if ok {
			out[variant] = v
		}
	}
	return out, nil
}

// sampleValue reads a [time, "value"] pair; NaN and ±Inf are no data.
func sampleValue(s [2]any) (float64, bool, error) {
	str, isString := s[1].(string)
	if !isString {
		return 0, false, fmt.Errorf("sample value %v is not a string", s[1])
	}
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return 0, false, fmt.Errorf("sample value %q: %w", str, err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, nil
	}
	return v, true, nil
}

// run sends one instant query, again after a transient failure while retries are left,
// and returns its data or what went wrong.
func (p *Provider) run(ctx context.Context, query string, at time.Time) (*result, error) {
	form := url.Values{"query": {query}}
	if !at.IsZero() {
		form.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	body := []byte(form.Encode())
	for attempt := 1; ; attempt++ {
		res, retryAfter, err := p.attempt(ctx, body)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil || !isTransient(err) {
			// The caller gave up, or another attempt would get the same answer.
			if attempt > 1 {
				return nil, fmt.Errorf("%w (%s)", err, attempts(attempt))
			}
			return nil, err
		}
		if attempt > p.retries {
			return nil, fmt.Errorf("%w (%s)", err, attempts(attempt))
		}
		wait := p.backoff(attempt, retryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return nil, fmt.Errorf("%w (%s; the query's deadline leaves no time to wait %v for another)", err, attempts(attempt), wait.Round(time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w (%s; stopped waiting to retry: %w)", err, attempts(attempt), ctx.Err())
		case <-timer.C:
		}
	}
}

// attempts says "1 attempt" or "n attempts".
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// backoff is the wait after the failed attempt number n (from 1): RetryDelay doubled for
// each earlier retry, with jitter, at least what a Retry-After asked, at most MaxRetryDelay.
func (p *Provider) backoff(n int, retryAfter time.Duration) time.Duration {
	d := p.maxDelay
	if n-1 < 32 && p.delay < p.maxDelay>>(n-1) {
		d = p.delay << (n - 1)
	}
	d = d/2 + rand.N(d/2+1) // equal jitter: controllers that failed together retry apart
	return min(max(d, retryAfter), p.maxDelay)
}

// errTransient marks an error that another attempt may not meet.
type errTransient struct{ error }

func (e errTransient) Unwrap() error { return e.error }

func isTransient(err error) bool {
	var t errTransient
	return errors.As(err, &t)
}

// attempt sends the query once, as a request of its own (signed now, with its own
// timeout). A transient error comes back wrapped in errTransient, with the wait a
// Retry-After header asks for, if any.
func (p *Provider) attempt(parent context.Context, body []byte) (*result, time.Duration, error) {
	ctx, cancel := context.WithTimeout(parent, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	if p.signer != nil {
		creds, err := p.creds.Retrieve(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("SigV4: retrieving AWS credentials: %w", err)
		}
		sum := sha256.Sum256(body)
		if err := p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), p.service, p.region, time.Now()); err != nil {
			return nil, 0, fmt.Errorf("SigV4: signing the request: %w", err)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, 0, p.transportError(parent, ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, p.transportError(parent, ctx, err)
	}
	var answer struct {
		Status    string   `json:"status"`
		Data      result   `json:"data"`
		ErrorType string   `json:"errorType"`
		Error     string   `json:"error"`
		Warnings  []string `json:"warnings"`
	}
	var apiErr *APIError
	if err := json.Unmarshal(raw, &answer); err != nil || answer.Status == "" {
		if resp.StatusCode/100 == 2 {
			return nil, 0, fmt.Errorf("the answer of %s is not a Prometheus API response (HTTP %d, %s): %s",
				p.base, resp.StatusCode, resp.Header.Get("Content-Type"), snippet(raw))
		}
		apiErr = &APIError{StatusCode: resp.StatusCode, Message: snippet(raw)}
	} else if answer.Status != "success" {
		apiErr = &APIError{StatusCode: resp.StatusCode, Type: answer.ErrorType, Message: answer.Error}
	} else {
		return &answer.Data, 0, nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return nil, retryAfter(resp.Header.Get("Retry-After")), errTransient{apiErr}
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return nil, 0, errTransient{apiErr}
	}
	return nil, 0, apiErr
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; 0 when absent or unreadable.
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseUint(h, 10, 32); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// transportError says why no answer came back; ctx is the attempt's, parent the
// caller's. A connection refused, reset or closed and an attempt's own timeout are
// transient; the caller's cancellation or deadline is not.
func (p *Provider) transportError(parent, ctx context.Context, err error) error {
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return errTransient{fmt.Errorf("cannot reach Prometheus: connection refused at %s: %w", p.base, syscall.ECONNREFUSED)}
	case errors.Is(parent.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no answer from Prometheus at %s before the query's deadline: %w", p.base, context.DeadlineExceeded)
	case errors.Is(parent.Err(), context.Canceled):
		return fmt.Errorf("query to Prometheus at %s canceled: %w", p.base, context.Canceled)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return errTransient{fmt.Errorf("no answer from Prometheus at %s within %v (timeout): %w", p.base, p.timeout, context.DeadlineExceeded)}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return errTransient{fmt.Errorf("connection to Prometheus at %s lost: %w", p.base, err)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errTransient{fmt.Errorf("the connection to Prometheus at %s closed before a complete answer: %w", p.base, err)}
	case errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout):
		return errTransient{fmt.Errorf("cannot reach Prometheus at %s: %w", p.base, err)}
	}
	return fmt.Errorf("cannot reach Prometheus at %s: %w", p.base, err)
}

// abbreviate shortens a query for messages: whitespace collapsed, at most 120 characters.
func abbreviate(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	const max = 120
	if r := []rune(q); len(r) > max {
		q = string(r[:max-1]) + "…"
	}
	return "`" + q + "`"
}

// snippet is the start of a body, for messages.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	b.WriteByte('}')
	return b.String()
}
