package cloudwatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/cloudwatch"
)

// The SDK's CloudWatch client (v1.76) speaks the Smithy RPC v2 CBOR protocol: every
// operation is a POST to /service/GraniteServiceVersion20100801/operation/<Name> with a
// CBOR body, header Smithy-Protocol: rpc-v2-cbor, and the answer is CBOR too (errors: a
// map with __type and message). The fake below answers in exactly that format; the
// fixtures in testdata are GetMetricDataOutput documents with the API reference's member
// names, written as JSON for reading and encoded to CBOR on the wire (timestamps: tag 1,
// epoch seconds).
const getMetricDataPath = "/service/GraniteServiceVersion20100801/operation/GetMetricData"

// fake is a CloudWatch endpoint on 127.0.0.1 that answers GetMetricData calls with
// fixtures, in order, and records the decoded requests.
type fake struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	answers  []answer
	requests []cbor.Map
}

type answer struct {
	status  int
	fixture string
	delay   time.Duration
}

func newFake(t *testing.T, answers ...answer) *fake {
	f := &fake{t: t, answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(format string, args ...any) {
		f.t.Errorf("request: "+format, args...)
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("ValidationError"), "message": cbor.String(fmt.Sprintf(format, args...))}))
	}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != getMetricDataPath:
		fail("%s %s, want POST %s", r.Method, r.URL.Path, getMetricDataPath)
		return
	case r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor":
		fail("headers %v, want the rpc-v2-cbor protocol", r.Header)
		return
	case !sigV4Monitoring.MatchString(r.Header.Get("Authorization")):
		fail("authorization %q is not SigV4 for monitoring in us-east-1", r.Header.Get("Authorization"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	v, err := cbor.Decode(body)
	if err != nil {
		fail("body is not CBOR: %v", err)
		return
	}
	req, ok := v.(cbor.Map)
	if !ok {
		fail("body is %T, want a map", v)
		return
	}
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	if n >= len(f.answers) {
		fail("call %d, only %d answers", n+1, len(f.answers))
		return
	}
	a := f.answers[n]
	if a.delay > 0 {
		select {
		case <-r.Context().Done():
		case <-time.After(a.delay):
		}
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-Requestid", "9f2b5c9e-0a8b-4c39-9d2b-7d0b0f1c2e3a")
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
	w.Write(fixture(f.t, a.fixture))
}

var sigV4Monitoring = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/us-east-1/monitoring/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`)

// fixture reads testdata/<name> (JSON) and encodes it as CBOR the way the service does.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cbor.Encode(toCBOR(t, doc, ""))
}

func toCBOR(t *testing.T, v any, key string) cbor.Value {
	switch v := v.(type) {
	case map[string]any:
		m := cbor.Map{}
		for k, x := range v {
			m[k] = toCBOR(t, x, k)
		}
		return m
	case []any:
		l := cbor.List{}
		for _, x := range v {
			l = append(l, toCBOR(t, x, key))
		}
		return l
	case string:
		if key == "Timestamps" {
			ts, err := time.Parse(time.RFC3339, v)
			if err != nil {
				t.Fatal(err)
			}
			return &cbor.Tag{ID: 1, Value: cbor.Uint(ts.Unix())}
		}
		return cbor.String(v)
	case float64:
		return cbor.Float64(v)
	case bool:
		return cbor.Bool(v)
	}
	t.Fatalf("fixture value %T", v)
	return nil
}

func (f *fake) provider(t *testing.T, timeout time.Duration) *cloudwatch.Provider {
	client := awscw.New(awscw.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
	})
	p, err := cloudwatch.New(cloudwatch.Config{Client: client, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var end = time.Date(2027, 1, 15, 8, 30, 0, 0, time.UTC)

func request(q *rollout.CloudWatchQuery) rollout.Request {
	return rollout.Request{
		Metric: "errors", Query: rollout.Query{CloudWatch: q}, Flag: "checkout", Environment: "production",
		Variants: []string{"on", "off"}, Window: 29*time.Minute + 30*time.Second, End: end,
	}
}

var errorsMetric = &rollout.CloudWatchQuery{
	Namespace:  "Edgeflag",
	MetricName: "Errors",
	Dimensions: map[string]string{"flag": "{{flag}}", "variant": "{{variant}}", "environment": "{{environment}}"},
	Stat:       "Sum",
}

func TestQuery(t *testing.T) {
	p99 := &rollout.CloudWatchQuery{Namespace: "Edgeflag", MetricName: "Latency", Dimensions: map[string]string{"variant": "{{variant}}"}, Stat: "p99"}
	maxQ := &rollout.CloudWatchQuery{Namespace: "Edgeflag", MetricName: "Latency", Dimensions: map[string]string{"variant": "{{variant}}"}, Stat: "Maximum"}
	expr := &rollout.CloudWatchQuery{Expression: `SELECT SUM(Errors) FROM Edgeflag WHERE flag = '{{flag}}' AND variant = '{{variant}}'`}
	tests := []struct {
		name    string
		q       *rollout.CloudWatchQuery
		answers []answer
		want    map[string]float64
	}{
		{"one datapoint each", errorsMetric, []answer{{fixture: "complete.json"}}, map[string]float64{"on": 12, "off": 4}},
		{"a variant without data", errorsMetric, []answer{{fixture: "no-data.json"}}, map[string]float64{"on": 0.25}},
		{"pages of a Sum add up", errorsMetric, []answer{{fixture: "paged-1.json"}, {fixture: "paged-2.json"}}, map[string]float64{"on": 12, "off": 4}},
		{"pages of a Maximum take the largest", maxQ, []answer{{fixture: "paged-1.json"}, {fixture: "paged-2.json"}}, map[string]float64{"on": 7, "off": 3}},
		{"pages of a percentile take the latest", p99, []answer{{fixture: "paged-1.json"}, {fixture: "paged-2.json"}}, map[string]float64{"on": 7, "off": 1}},
		{"expression", expr, []answer{{fixture: "complete.json"}}, map[string]float64{"on": 12, "off": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.answers...)
			got, err := f.provider(t, 0).Query(context.Background(), request(tt.q))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("values %v, want %v", got, tt.want)
			}
			if len(f.requests) != len(tt.answers) {
				t.Fatalf("%d calls, want %d", len(f.requests), len(tt.answers))
			}
			for i, req := range f.requests {
				token, _ := req["NextToken"].(cbor.String)
				if want := map[bool]string{true: "", false: "page-2-token"}[i == 0]; string(token) != want {
					t.Errorf("call %d: NextToken %q, want %q", i+1, token, want)
				}
			}
		})
	}
}

// TestRequest checks the GetMetricData request the SDK sends, decoded from its CBOR body.
func TestRequest(t *testing.T) {
	f := newFake(t, answer{fixture: "complete.json"}, answer{fixture: "complete.json"})
	p := f.provider(t, 0)
	if _, err := p.Query(context.Background(), request(errorsMetric)); err != nil {
		t.Fatal(err)
	}
	expr := &rollout.CloudWatchQuery{Expression: `SELECT SUM(Errors) FROM Edgeflag WHERE variant = '{{variant}}'`}
	if _, err := p.Query(context.Background(), request(expr)); err != nil {
		t.Fatal(err)
	}
	got := []string{render(f.requests[0]), render(f.requests[1])}
	want := []string{
		`{EndTime: 2027-01-15T08:30:00Z, MetricDataQueries: [` +
			`{Id: v0, Label: on, MetricStat: {Metric: {Dimensions: [{Name: environment, Value: production}, {Name: flag, Value: checkout}, {Name: variant, Value: on}], MetricName: Errors, Namespace: Edgeflag}, Period: 1800, Stat: Sum}, ReturnData: true}, ` +
			`{Id: v1, Label: off, MetricStat: {Metric: {Dimensions: [{Name: environment, Value: production}, {Name: flag, Value: checkout}, {Name: variant, Value: off}], MetricName: Errors, Namespace: Edgeflag}, Period: 1800, Stat: Sum}, ReturnData: true}], ` +
			`ScanBy: TimestampDescending, StartTime: 2027-01-15T08:00:00Z}`,
		`{EndTime: 2027-01-15T08:30:00Z, MetricDataQueries: [` +
			`{Expression: SELECT SUM(Errors) FROM Edgeflag WHERE variant = 'on', Id: v0, Label: on, Period: 1800, ReturnData: true}, ` +
			`{Expression: SELECT SUM(Errors) FROM Edgeflag WHERE variant = 'off', Id: v1, Label: off, Period: 1800, ReturnData: true}], ` +
			`ScanBy: TimestampDescending, StartTime: 2027-01-15T08:00:00Z}`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

// render prints a decoded CBOR value with sorted keys and timestamps in RFC 3339.
func render(v cbor.Value) string {
	switch v := v.(type) {
	case cbor.Map:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + render(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case cbor.List:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = render(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *cbor.Tag:
		if v.ID == 1 {
			if ts, err := cbor.AsTime(v); err == nil {
				return ts.UTC().Format(time.RFC3339)
			}
		}
		return fmt.Sprintf("tag(%d, %s)", v.ID, render(v.Value))
	case cbor.String:
		return string(v)
	case cbor.Uint, cbor.NegInt, cbor.Bool, cbor.Float64, cbor.Float32:
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		q       *rollout.CloudWatchQuery
		answers []answer
		want    []string
	}{
		{"API error", errorsMetric, []answer{{status: 400, fixture: "error-invalid-parameter.json"}},
			[]string{`cloudwatch: metric "errors": query Edgeflag Errors Sum {environment=production, flag=checkout, variant={{variant}}}`,
				"GetMetricData failed: InvalidParameterValue", "had an invalid value: p999x"}},
		{"forbidden result", errorsMetric, []answer{{fixture: "forbidden.json"}},
			[]string{`variant "on": status Forbidden`, "Not authorized to read metrics of account 111122223333", "MaxMetricsExceeded"}},
		{"partial data without a NextToken", errorsMetric, []answer{{fixture: "partial-no-token.json"}},
			[]string{`variant "on": status PartialData and no NextToken`, "MaxQueryTimeRangeExceed"}},
		{"timeout", errorsMetric, []answer{{delay: 10 * time.Second}},
			[]string{"no answer from CloudWatch within 200ms (timeout)"}},
		{"no {{variant}}", &rollout.CloudWatchQuery{Namespace: "N", MetricName: "M", Stat: "Sum", Dimensions: map[string]string{"flag": "{{flag}}"}}, nil,
			[]string{"no {{variant}} in a dimension value or the expression"}},
		{"no stat", &rollout.CloudWatchQuery{Namespace: "N", MetricName: "M", Dimensions: map[string]string{"variant": "{{variant}}"}}, nil,
			[]string{"needs a stat"}},
		{"no namespace", &rollout.CloudWatchQuery{MetricName: "M", Stat: "Sum", Dimensions: map[string]string{"variant": "{{variant}}"}}, nil,
			[]string{"needs a namespace and a metricName"}},
		{"expression and metric", &rollout.CloudWatchQuery{Expression: "SEARCH('{variant=\"{{variant}}\"}')", MetricName: "M"}, nil,
			[]string{"exclusive"}},
		{"no CloudWatch query", nil, nil, []string{"no CloudWatch query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.answers...)
			_, err := f.provider(t, 200*time.Millisecond).Query(context.Background(), request(tt.q))
			assertError(t, err, tt.want...)
			if len(f.requests) != len(tt.answers) {
				t.Errorf("%d calls, want %d", len(f.requests), len(tt.answers))
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	client := awscw.New(awscw.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	p, err := cloudwatch.New(cloudwatch.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Query(context.Background(), request(errorsMetric))
	assertError(t, err, `metric "errors"`, "cannot reach CloudWatch: connection refused", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) = false", err)
	}
}

func TestPeriod(t *testing.T) {
	tests := []struct {
		window time.Duration
		want   int32
	}{
		{0, 60}, {time.Second, 60}, {time.Minute, 60}, {61 * time.Second, 120},
		{29*time.Minute + 30*time.Second, 1800}, {30 * time.Minute, 1800}, {24 * time.Hour, 86400},
		{time.Duration(math.MaxInt64), math.MaxInt32 / 60 * 60},
	}
	for _, tt := range tests {
		if got := cloudwatch.Period(tt.window); got != tt.want {
			t.Errorf("Period(%v) = %d, want %d", tt.window, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := cloudwatch.New(cloudwatch.Config{}); err == nil || !strings.Contains(err.Error(), "no client") {
		t.Errorf("New without a client: %v", err)
	}
	if _, err := cloudwatch.New(cloudwatch.Config{Client: awscw.New(awscw.Options{}), Timeout: -1}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("New with a negative timeout: %v", err)
	}
}

func TestNewFromEnv(t *testing.T) {
	f := newFake(t, answer{fixture: "complete.json"})
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv(cloudwatch.EnvRegion, "")
	if _, err := cloudwatch.NewFromEnv(context.Background()); err == nil || !strings.Contains(err.Error(), "no AWS region: set EDGEFLAG_CLOUDWATCH_REGION or AWS_REGION") {
		t.Fatalf("NewFromEnv without a region: %v", err)
	}
	t.Setenv(cloudwatch.EnvRegion, "us-east-1")
	t.Setenv(cloudwatch.EnvEndpoint, f.srv.URL)
	p, err := cloudwatch.NewFromEnv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Query(context.Background(), request(errorsMetric))
	if err != nil {
		t.Fatal(err)
	}
	if got["on"] != 12 || got["off"] != 4 {
		t.Errorf("values %v", got)
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
