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
		assertError(t, err, `metric "error-rate"`, "cannot reach Prometheus: connection refused at "+server.URL)
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
		}, []string{"HTTP 502 Bad Gateway from Prometheus: <html><body>502 Bad Gateway</body></html>"}},
		{"not the API", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>Grafana</html>")
		}, []string{"is not a Prometheus API response (HTTP 200", "Grafana"}},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // the server notices a closed connection once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, []string{"within 200ms (timeout)"}},
		{"unavailable", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`)
		}, []string{"HTTP 503 Service Unavailable from Prometheus: timeout: query timed out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL, Timeout: 200 * time.Millisecond})
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
			if got.URL != tt.want.URL || got.BearerToken != tt.want.BearerToken || got.Timeout != tt.want.Timeout ||
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
