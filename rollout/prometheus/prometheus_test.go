package prometheus_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/edgeflag/edgeflag/internal/promtest"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/prometheus"
)

// Latency buckets of edgeflag_http_request_duration_seconds, in seconds.
var latencyBounds = []float64{0.05, 0.1, 0.25, 0.5, 1}

// backfill writes the metrics of three flags as the project's instrumentation names them:
//
//   - checkout: variants on and off at 100 requests/s, 1% (on) and 0.5% (off) of them 500s;
//     latency p99 0.375 s (on) and 0.2 s (off).
//   - search: only variant on, 10 requests/s, no errors.
//   - idle: variant on, no requests at all (ratios are 0/0 = NaN).
func backfill(end time.Time) *promtest.Backfill {
	b := promtest.NewBackfill(end, 30*time.Minute, 15*time.Second)
	requests := func(flag, variant string, ok, failed float64) {
		b.Counter("edgeflag_http_requests_total", map[string]string{"flag": flag, "variant": variant, "code": "200"}, ok)
		b.Counter("edgeflag_http_requests_total", map[string]string{"flag": flag, "variant": variant, "code": "500"}, failed)
	}
	requests("checkout", "on", 99, 1)
	requests("checkout", "off", 99.5, 0.5)
	requests("search", "on", 10, 0)
	requests("idle", "on", 0, 0)
	latency := func(flag, variant string, perBucket ...float64) {
		b.Histogram("edgeflag_http_request_duration_seconds", map[string]string{"flag": flag, "variant": variant}, latencyBounds, perBucket)
	}
	latency("checkout", "on", 80, 10, 8, 2, 0, 0)     // p99: 0.25 + 0.25*(99-98)/2
	latency("checkout", "off", 90, 8, 1.5, 0.5, 0, 0) // p99: 0.1 + 0.15*(99-98)/1.5
	latency("search", "on", 10, 0, 0, 0, 0, 0)
	return b
}

const (
	errorRatio = `sum by (variant) (increase(edgeflag_http_requests_total{flag="{{flag}}",code=~"5.."}[{{window}}]))
		/ sum by (variant) (increase(edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}]))`
	errorRatioPerVariant = `sum(rate(edgeflag_http_requests_total{flag="{{flag}}",variant="{{variant}}",code=~"5.."}[{{window}}]))
		/ sum(rate(edgeflag_http_requests_total{flag="{{flag}}",variant="{{variant}}"}[{{window}}]))`
	p99           = `histogram_quantile(0.99, sum by (le, variant) (rate(edgeflag_http_request_duration_seconds_bucket{flag="{{flag}}"}[{{window}}])))`
	p99PerVariant = `histogram_quantile(0.99, sum by (le) (rate(edgeflag_http_request_duration_seconds_bucket{flag="{{flag}}",variant="{{variant}}"}[{{window}}])))`
)

// TestRealPrometheus runs the provider against a real Prometheus serving backfilled data.
func TestRealPrometheus(t *testing.T) {
	end := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	server := promtest.Start(t, promtest.Options{Backfill: backfill(end)})
	ctx := context.Background()
	p, err := prometheus.New(ctx, prometheus.Config{URL: server.URL})
	if err != nil {
		t.Fatal(err)
	}
	req := func(flag, query string, variants ...string) rollout.Request {
		return rollout.Request{
			Metric: "error-rate", Query: rollout.Query{PromQL: query}, Flag: flag, Environment: "production",
			Variants: variants, Window: 10 * time.Minute, End: end,
		}
	}

	t.Run("values", func(t *testing.T) {
		tests := []struct {
			name string
			r    rollout.Request
			want map[string]float64
		}{
			{"error ratio by variant", req("checkout", errorRatio, "on", "off"), map[string]float64{"on": 0.01, "off": 0.005}},
			{"error ratio per variant", req("checkout", errorRatioPerVariant, "on", "off"), map[string]float64{"on": 0.01, "off": 0.005}},
			{"error count over the window", req("checkout", `sum by (variant) (increase(edgeflag_http_requests_total{flag="{{flag}}",code="500"}[{{window}}]))`, "on", "off"),
				map[string]float64{"on": 600, "off": 300}},
			{"p99 by variant", req("checkout", p99, "on", "off"), map[string]float64{"on": 0.375, "off": 0.2}},
			{"p99 per variant", req("checkout", p99PerVariant, "on", "off"), map[string]float64{"on": 0.375, "off": 0.2}},
			{"only requested variants", req("checkout", errorRatio, "on"), map[string]float64{"on": 0.01}},
			{"missing variant by variant", req("search", errorRatio, "on", "off"), map[string]float64{"on": 0}},
			{"missing variant per variant", req("search", errorRatioPerVariant, "on", "off"), map[string]float64{"on": 0}},
			{"scalar per variant", req("checkout", `scalar(sum(rate(edgeflag_http_requests_total{flag="{{flag}}",variant="{{variant}}"}[{{window}}])))`, "on", "off", "blue"),
				map[string]float64{"on": 100, "off": 100}}, // blue: scalar() of nothing is NaN
			{"NaN is no data", req("idle", errorRatio, "on"), map[string]float64{}},
			{"NaN is no data per variant", req("idle", errorRatioPerVariant, "on"), map[string]float64{}},
			{"unknown flag", req("nope", errorRatio, "on", "off"), map[string]float64{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := p.Query(ctx, tt.r)
				if err != nil {
					t.Fatal(err)
				}
				assertValues(t, got, tt.want)
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name  string
			query string
			want  []string
		}{
			{"syntax error", `sum by (variant) (rate(edgeflag_http_requests_total[{{window}}])`,
				[]string{`metric "error-rate"`, "query `sum by (variant) (rate(edgeflag_http_requests_total[600s])`", "HTTP 400 Bad Request", "bad_data", "parse error"}},
			{"no variant label", `sum(rate(edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}]))`,
				[]string{"series {} has no variant label", "sum by (variant) expected"}},
			{"several series per variant", `rate(edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}])`,
				[]string{"several series for variant", "sum by (variant) expected"}},
			{"several series with {{variant}}", `rate(edgeflag_http_requests_total{flag="{{flag}}",variant="{{variant}}"}[{{window}}])`,
				[]string{`variant "on": 2 series`, "want at most one"}},
			{"range vector", `edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}]`,
				[]string{`result type "matrix"`}},
			{"scalar without {{variant}}", `scalar(sum(rate(edgeflag_http_requests_total[{{window}}])))`,
				[]string{`result type "scalar"`, "one series per variant"}},
			{"execution error", `sum by (variant) (rate(edgeflag_http_requests_total[{{window}}])) + on(variant) group_left sum by (variant, code) (rate(edgeflag_http_requests_total[{{window}}]))`,
				[]string{"HTTP 422", "execution", "many-to-many"}},
			{"empty query", "  ", []string{"no PromQL query"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := p.Query(ctx, req("checkout", tt.query, "on", "off"))
				assertError(t, err, tt.want...)
			})
		}
	})

	t.Run("long queries are abbreviated", func(t *testing.T) {
		q := `sum by (variant) (rate(edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}]` + strings.Repeat(" + 0", 100)
		_, err := p.Query(ctx, req("checkout", q, "on"))
		assertError(t, err, "…", "bad_data")
		if len(err.Error()) > 400 {
			t.Errorf("error of %d bytes: %v", len(err.Error()), err)
		}
	})

	t.Run("bearer token", func(t *testing.T) {
		front := proxy(t, server.URL, func(r *http.Request, _ []byte) error {
			if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
				return fmt.Errorf("authorization %q", got)
			}
			return nil
		})
		good, err := prometheus.New(ctx, prometheus.Config{URL: front.URL, BearerToken: "s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := good.Query(ctx, req("checkout", errorRatio, "on", "off"))
		if err != nil {
			t.Fatal(err)
		}
		assertValues(t, got, map[string]float64{"on": 0.01, "off": 0.005})

		bad, err := prometheus.New(ctx, prometheus.Config{URL: front.URL, BearerToken: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Query(ctx, req("checkout", errorRatio, "on", "off"))
		assertError(t, err, "HTTP 401 Unauthorized", `authorization "Bearer wrong"`)
	})

	t.Run("SigV4", func(t *testing.T) {
		creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}
		var verified int
		front := proxy(t, server.URL, func(r *http.Request, body []byte) error {
			if err := verifySigV4(r, body, creds, "eu-west-1", "aps"); err != nil {
				return err
			}
			verified++
			return nil
		})
		signed, err := prometheus.New(ctx, prometheus.Config{URL: front.URL + "/workspaces/ws-1234", SigV4: &prometheus.SigV4{
			Region:      "eu-west-1",
			Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := signed.Query(ctx, req("checkout", p99PerVariant, "on", "off"))
		if err != nil {
			t.Fatal(err)
		}
		assertValues(t, got, map[string]float64{"on": 0.375, "off": 0.2})
		if verified != 2 {
			t.Errorf("%d signed requests verified, want 2", verified)
		}

		wrongKey, err := prometheus.New(ctx, prometheus.Config{URL: front.URL + "/workspaces/ws-1234", SigV4: &prometheus.SigV4{
			Region:      "eu-west-1",
			Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, "another-secret", creds.SessionToken),
		}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = wrongKey.Query(ctx, req("checkout", p99PerVariant, "on", "off"))
		assertError(t, err, "HTTP 401", "signature mismatch")
	})

	t.Run("Prometheus down", func(t *testing.T) {
		server.Stop()
		_, err := p.Query(ctx, req("checkout", errorRatio, "on", "off"))
		assertError(t, err, `metric "error-rate"`, "cannot reach Prometheus: connection refused at "+server.URL, "(3 attempts)")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("errors.Is(%v, ECONNREFUSED) = false", err)
		}
	})
}

// TestAnswersOtherThanPrometheus covers what a proxy or gateway in front of Prometheus
// answers, and a server that does not answer in time.
func TestAnswersOtherThanPrometheus(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{"gateway error page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		}, []string{"HTTP 502 Bad Gateway from Prometheus: <html><body>502 Bad Gateway</body></html> (3 attempts)"}},
		{"not the API", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>Grafana</html>")
		}, []string{"is not a Prometheus API response (HTTP 200", "Grafana"}},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // the server notices a closed connection once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, []string{"within 200ms (timeout)", "(3 attempts)"}},
		{"unavailable", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`)
		}, []string{"HTTP 503 Service Unavailable from Prometheus: timeout: query timed out in expression evaluation (3 attempts)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL, Timeout: 200 * time.Millisecond, RetryDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Query(context.Background(), rollout.Request{Metric: "m", Query: rollout.Query{PromQL: errorRatio}, Variants: []string{"on"}, Window: time.Minute})
			assertError(t, err, tt.want...)
		})
	}
}

func TestRequestSent(t *testing.T) {
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/prom/api/v1/query" {
			http.Error(w, r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		r.ParseForm()
		form = r.PostForm
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	defer srv.Close()
	p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL + "/prom/"})
	if err != nil {
		t.Fatal(err)
	}
	end := time.UnixMilli(1_800_000_000_123)
	_, err = p.Query(context.Background(), rollout.Request{
		Metric: "m", Query: rollout.Query{PromQL: `x{flag="{{flag}}",env="{{environment}}"}[{{window}}]`},
		Flag: "checkout", Environment: "staging", Window: 30 * time.Minute, End: end,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := form.Get("query"), `x{flag="checkout",env="staging"}[1800s]`; got != want {
		t.Errorf("query = %q, want %q", got, want)
	}
	if got, want := form.Get("time"), "1800000000.123"; got != want {
		t.Errorf("time = %q, want %q", got, want)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  prometheus.Config
		want string
	}{
		{"no URL", prometheus.Config{}, "must be an absolute http(s) URL"},
		{"relative URL", prometheus.Config{URL: "prometheus:9090"}, "must be an absolute http(s) URL"},
		{"query in URL", prometheus.Config{URL: "http://p:9090/?x=1"}, "must not have a query"},
		{"token and SigV4", prometheus.Config{URL: "http://p:9090", BearerToken: "t", SigV4: &prometheus.SigV4{Region: "us-east-1"}}, "configure one"},
		{"SigV4 without region", prometheus.Config{URL: "http://p:9090", SigV4: &prometheus.SigV4{}}, "needs a region"},
		{"negative timeout", prometheus.Config{URL: "http://p:9090", Timeout: -time.Second}, "negative"},
		{"too many retries", prometheus.Config{URL: "http://p:9090", Retries: 11}, "11 retries is more than 10"},
		{"negative retry delay", prometheus.Config{URL: "http://p:9090", RetryDelay: -time.Second}, "must not be negative"},
		{"negative retry cap", prometheus.Config{URL: "http://p:9090", MaxRetryDelay: -time.Second}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := prometheus.New(context.Background(), tt.cfg)
			assertError(t, err, tt.want)
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want prometheus.Config
		err  string
	}{
		{"URL only", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p:9090"}, prometheus.Config{URL: "http://p:9090"}, ""},
		{"token and timeout", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p:9090", "EDGEFLAG_PROMETHEUS_TOKEN": "t", "EDGEFLAG_PROMETHEUS_TIMEOUT": "5s"},
			prometheus.Config{URL: "http://p:9090", BearerToken: "t", Timeout: 5 * time.Second}, ""},
		{"SigV4", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1", "EDGEFLAG_PROMETHEUS_SIGV4_REGION": "eu-west-1"},
			prometheus.Config{URL: "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1", SigV4: &prometheus.SigV4{Region: "eu-west-1"}}, ""},
		{"no URL", map[string]string{}, prometheus.Config{}, "EDGEFLAG_PROMETHEUS_URL is not set"},
		{"token and SigV4", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_TOKEN": "t", "EDGEFLAG_PROMETHEUS_SIGV4_REGION": "eu-west-1"},
			prometheus.Config{}, "EDGEFLAG_PROMETHEUS_TOKEN and EDGEFLAG_PROMETHEUS_SIGV4_REGION are both set"},
		{"bad timeout", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_TIMEOUT": "10"},
			prometheus.Config{}, `EDGEFLAG_PROMETHEUS_TIMEOUT="10" is not a positive duration`},
		{"retries", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_RETRIES": " 5 "}, prometheus.Config{URL: "http://p", Retries: 5}, ""},
		{"no retries", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_RETRIES": "0"}, prometheus.Config{URL: "http://p", Retries: -1}, ""},
		{"the most retries", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_RETRIES": "10"}, prometheus.Config{URL: "http://p", Retries: 10}, ""},
		{"too many retries", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_RETRIES": "11"},
			prometheus.Config{}, `EDGEFLAG_PROMETHEUS_RETRIES="11" is not a number of retries from 0 (none) to 10`},
		{"negative retries", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_RETRIES": "-1"},
			prometheus.Config{}, `EDGEFLAG_PROMETHEUS_RETRIES="-1" is not a number of retries`},
		{"retries not a number", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://p", "EDGEFLAG_PROMETHEUS_RETRIES": "two"},
			prometheus.Config{}, `EDGEFLAG_PROMETHEUS_RETRIES="two" is not a number of retries`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := prometheus.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				assertError(t, err, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tt.want.URL || got.BearerToken != tt.want.BearerToken || got.Timeout != tt.want.Timeout || got.Retries != tt.want.Retries ||
				(got.SigV4 == nil) != (tt.want.SigV4 == nil) || (got.SigV4 != nil && *got.SigV4 != *tt.want.SigV4) {
				t.Errorf("ConfigFromEnv = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// proxy is a reverse proxy in front of target that refuses (401) requests check rejects.
func proxy(t *testing.T, target string, check func(r *http.Request, body []byte) error) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := check(r, body); err != nil {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/workspaces/ws-1234")
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var authorizationRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// verifySigV4 checks a request's Signature Version 4 by computing it independently from
// the specification (canonical request, string to sign, derived key).
func verifySigV4(r *http.Request, body []byte, creds aws.Credentials, region, service string) error {
	m := authorizationRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return fmt.Errorf("authorization %q is not SigV4", r.Header.Get("Authorization"))
	}
	akid, date, gotRegion, gotService, signedHeaders, signature := m[1], m[2], m[3], m[4], m[5], m[6]
	amzDate := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", amzDate, err)
	}
	if d := time.Since(signedAt); d < -time.Minute || d > 5*time.Minute {
		return fmt.Errorf("X-Amz-Date %s is not now", amzDate)
	}
	switch {
	case akid != creds.AccessKeyID:
		return fmt.Errorf("access key %q", akid)
	case date != amzDate[:8]:
		return fmt.Errorf("credential date %s, X-Amz-Date %s", date, amzDate)
	case gotRegion != region || gotService != service:
		return fmt.Errorf("scope %s/%s, want %s/%s", gotRegion, gotService, region, service)
	case r.Header.Get("X-Amz-Security-Token") != creds.SessionToken:
		return fmt.Errorf("X-Amz-Security-Token %q", r.Header.Get("X-Amz-Security-Token"))
	}
	names := strings.Split(signedHeaders, ";")
	for _, required := range []string{"host", "x-amz-date", "x-amz-security-token", "content-type"} {
		if !contains(names, required) {
			return fmt.Errorf("signed headers %s lack %s", signedHeaders, required)
		}
	}
	var canonical strings.Builder
	canonical.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n" + r.URL.Query().Encode() + "\n")
	for _, name := range names {
		var value string
		switch name {
		case "host":
			value = r.Host
		case "content-length":
			value = strconv.FormatInt(r.ContentLength, 10)
		default:
			value = strings.Join(r.Header.Values(name), ",")
		}
		canonical.WriteString(name + ":" + strings.TrimSpace(value) + "\n")
	}
	payload := sha256.Sum256(body)
	canonical.WriteString("\n" + signedHeaders + "\n" + hex.EncodeToString(payload[:]))
	canonicalHash := sha256.Sum256([]byte(canonical.String()))
	scope := date + "/" + region + "/" + service + "/aws4_request"
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonicalHash[:])
	key := []byte("AWS4" + creds.SecretAccessKey)
	for _, part := range []string{date, region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	if want := hex.EncodeToString(hmacSHA256(key, stringToSign)); want != signature {
		return fmt.Errorf("signature mismatch: got %s, computed %s", signature, want)
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func assertValues(t *testing.T, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Fatalf("values %v, want %v", got, want)
		}
	}
}

func assertError(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not contain %q", err, w)
		}
	}
}

// An answer step of a test server: what it does with one request.
type step func(w http.ResponseWriter, r *http.Request)

func answer(status int, header map[string]string, body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

var (
	ok          = answer(http.StatusOK, nil, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"variant":"on"},"value":[1800000000,"0.25"]}]}}`)
	unavailable = answer(http.StatusServiceUnavailable, nil, `{"status":"error","errorType":"unavailable","error":"the storage is starting"}`)
	badData     = answer(http.StatusBadRequest, nil, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}`)
	// hangUp reads the request and closes the connection without an answer.
	hangUp step = func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	}
	// slow answers after the attempt's timeout.
	slow step = func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
)

// sequence serves steps in turn, the last one for every request after; requests counts them.
func sequence(t *testing.T, steps ...step) (srv *httptest.Server, requests func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := steps[min(n, len(steps)-1)]
		n++
		mu.Unlock()
		s(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

var perVariantRequest = rollout.Request{Metric: "m", Query: rollout.Query{PromQL: errorRatio}, Variants: []string{"on"}, Window: time.Minute}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		retries  int
		steps    []step
		requests int
		err      []string // nil: the query succeeds
		status   int      // the APIError's status, if any
	}{
		{"503 twice, then the answer", 0, []step{unavailable, unavailable, ok}, 3, nil, 0},
		{"429, then the answer", 0, []step{answer(http.StatusTooManyRequests, map[string]string{"Retry-After": "0"}, "too many requests"), ok}, 2, nil, 0},
		{"502 and 504, then the answer", 0, []step{answer(http.StatusBadGateway, nil, "<html>502</html>"), answer(http.StatusGatewayTimeout, nil, "<html>504</html>"), ok}, 3, nil, 0},
		{"connection closed, then the answer", 0, []step{hangUp, ok}, 2, nil, 0},
		{"an attempt's timeout, then the answer", 0, []step{slow, ok}, 2, nil, 0},
		{"five retries", 5, []step{unavailable, unavailable, unavailable, unavailable, unavailable, ok}, 6, nil, 0},

		{"retries exhausted", 0, []step{unavailable}, 3,
			[]string{"HTTP 503 Service Unavailable from Prometheus: unavailable: the storage is starting (3 attempts)"}, 503},
		{"connections closed to the end", 1, []step{hangUp}, 2,
			[]string{"closed before a complete answer", "(2 attempts)"}, 0},
		{"timeouts to the end", 1, []step{slow}, 2, []string{"within 100ms (timeout)", "(2 attempts)"}, 0},
		{"no retries", -1, []step{unavailable, ok}, 1, []string{"HTTP 503", "(1 attempt)"}, 503},
		{"bad_data is not retried", 0, []step{badData, ok}, 1, []string{"HTTP 400 Bad Request from Prometheus: bad_data: 1:5: parse error"}, 400},
		{"an execution error is not retried", 0, []step{answer(http.StatusUnprocessableEntity, nil, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`), ok}, 1,
			[]string{"HTTP 422", "execution"}, 422},
		{"an internal error is not retried", 0, []step{answer(http.StatusInternalServerError, nil, `{"status":"error","errorType":"internal","error":"boom"}`), ok}, 1,
			[]string{"HTTP 500", "internal: boom"}, 500},
		{"401 is not retried", 0, []step{answer(http.StatusUnauthorized, nil, "unauthorized"), ok}, 1, []string{"HTTP 401 Unauthorized"}, 401},
		{"an error in a 200 is not retried", 0, []step{answer(http.StatusOK, nil, `{"status":"error","errorType":"execution","error":"odd proxy"}`), ok}, 1,
			[]string{"HTTP 200", "odd proxy"}, 200},
		{"503, then bad_data", 0, []step{unavailable, badData, ok}, 2, []string{"bad_data", "(2 attempts)"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := sequence(t, tt.steps...)
			p, err := prometheus.New(context.Background(), prometheus.Config{
				URL: srv.URL, Timeout: 100 * time.Millisecond, Retries: tt.retries, RetryDelay: time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Query(context.Background(), perVariantRequest)
			if n := requests(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if tt.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				assertValues(t, got, map[string]float64{"on": 0.25})
				return
			}
			assertError(t, err, tt.err...)
			if !strings.Contains(strings.Join(tt.err, " "), "attempt") && strings.Contains(err.Error(), "attempt") {
				t.Errorf("error %q counts attempts of a query sent once", err)
			}
			var qe *prometheus.QueryError
			if !errors.As(err, &qe) || qe.Metric != "m" {
				t.Errorf("errors.As(%v, *QueryError) = false or another metric", err)
			}
			var apiErr *prometheus.APIError
			switch {
			case tt.status == 0 && errors.As(err, &apiErr):
				t.Errorf("an APIError (%v) in %v", apiErr, err)
			case tt.status != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.status):
				t.Errorf("errors.As(%v, *APIError) = false or another status, want %d", err, tt.status)
			}
		})
	}
}

// TestRetryAfter checks the waits a 429 or 503 asks for: honoured, capped, and only on
// those statuses.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name     string
		first    step
		maxDelay time.Duration
		min, max time.Duration // the query's duration
	}{
		{"429 Retry-After in seconds is honoured", answer(http.StatusTooManyRequests, map[string]string{"Retry-After": "1"}, ""), 0, time.Second, 3 * time.Second},
		{"503 Retry-After above the cap is capped", answer(http.StatusServiceUnavailable, map[string]string{"Retry-After": "3600"}, ""), 100 * time.Millisecond, 100 * time.Millisecond, time.Second},
		{"Retry-After as an HTTP date", answer(http.StatusServiceUnavailable, map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, ""),
			100 * time.Millisecond, 100 * time.Millisecond, time.Second},
		{"Retry-After on a 502 is not waited for", answer(http.StatusBadGateway, map[string]string{"Retry-After": "3600"}, ""), 0, 0, time.Second},
		{"an unreadable Retry-After is ignored", answer(http.StatusTooManyRequests, map[string]string{"Retry-After": "soon"}, ""), 0, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := sequence(t, tt.first, ok)
			p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL, RetryDelay: time.Millisecond, MaxRetryDelay: tt.maxDelay})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := p.Query(context.Background(), perVariantRequest); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < tt.min || d > tt.max {
				t.Errorf("the query took %v, want %v to %v", d, tt.min, tt.max)
			}
			if n := requests(); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

// TestRetryStopsForTheCaller checks that a wait between attempts ends with the caller's
// context, and is not begun when the deadline would pass first.
func TestRetryStopsForTheCaller(t *testing.T) {
	tests := []struct {
		name     string
		timeout  time.Duration // of the caller's context; 0: canceled 50 ms after the 503
		err      []string
		canceled bool
	}{
		{"canceled while waiting", 0, []string{"HTTP 503", "(1 attempt; stopped waiting to retry: context canceled)"}, true},
		{"a deadline before the next attempt", time.Second, []string{"HTTP 503", "(1 attempt; the query's deadline leaves no time to wait"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := unavailable
			if tt.timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			} else {
				first = func(w http.ResponseWriter, r *http.Request) {
					unavailable(w, r)
					time.AfterFunc(50*time.Millisecond, cancel) // while the provider waits to retry
				}
			}
			srv, requests := sequence(t, first, ok)
			p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL, RetryDelay: 10 * time.Second, MaxRetryDelay: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = p.Query(ctx, perVariantRequest)
			if d := time.Since(start); d > time.Second {
				t.Errorf("the query returned after %v", d)
			}
			assertError(t, err, tt.err...)
			if errors.Is(err, context.Canceled) != tt.canceled {
				t.Errorf("errors.Is(%v, context.Canceled) = %v, want %v", err, !tt.canceled, tt.canceled)
			}
			var apiErr *prometheus.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("errors.As(%v, *APIError) = false or not a 503", err)
			}
			if n := requests(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestRetrySignsEachAttempt checks that every attempt is a request of its own, signed
// anew over the whole body.
func TestRetrySignsEachAttempt(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}
	var bodies []string
	check := func(next step) step {
		return func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err == nil {
				err = verifySigV4(r, body, creds, "eu-west-1", "aps")
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			bodies = append(bodies, string(body))
			next(w, r)
		}
	}
	srv, requests := sequence(t, check(unavailable), check(answer(http.StatusTooManyRequests, nil, "slow down")), check(ok))
	p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL, RetryDelay: time.Millisecond, SigV4: &prometheus.SigV4{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Query(context.Background(), perVariantRequest)
	if err != nil {
		t.Fatal(err)
	}
	assertValues(t, got, map[string]float64{"on": 0.25})
	if n := requests(); n != 3 || len(bodies) != 3 {
		t.Fatalf("%d requests, %d verified, want 3", n, len(bodies))
	}
	if bodies[0] == "" || bodies[1] != bodies[0] || bodies[2] != bodies[0] {
		t.Errorf("bodies %q, want the same query each time", bodies)
	}
}

// TestRetryConnectionRefused checks a server that is down through every attempt.
func TestRetryConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	down := srv.URL
	srv.Close()
	p, err := prometheus.New(context.Background(), prometheus.Config{URL: down, Retries: 3, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Query(context.Background(), perVariantRequest)
	assertError(t, err, "connection refused at "+down, "(4 attempts)")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) = false", err)
	}
}
