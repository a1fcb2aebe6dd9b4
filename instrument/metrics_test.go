package instrument_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/edgeflag/edgeflag/instrument"
)

// stepClock returns a clock that advances by step at every reading, so that every
// request the middleware measures lasts exactly step.
func stepClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

// newMetrics returns Metrics registered with a fresh registry, measuring 30 ms per request.
func newMetrics(t *testing.T, opts instrument.Options) (*instrument.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	if opts.Now == nil {
		opts.Now = stepClock(30 * time.Millisecond)
	}
	m, err := instrument.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// get serves a GET request with the given headers through h.
func get(h http.Handler, headers map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// samples returns every sample of metric name: the counter value, or the histogram's
// sample count, by its labels formatted as "k=v,k=v" in label-name order.
func samples(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(labels, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestWrapRecordsHeaderVariants(t *testing.T) {
	m, reg := newMetrics(t, instrument.Options{Buckets: []float64{0.01, 0.05, 0.1}})
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") != "" {
			http.Error(w, "boom", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	edge := map[string]string{"x-flag-new-checkout": "on", "x-flag-button-color": "blue", "x-edgeflag-snapshot": "abc"}
	for range 3 {
		get(h, edge)
	}
	r := httptest.NewRequest(http.MethodGet, "/?fail=1", nil)
	r.Header.Set("X-Flag-New-Checkout", "on")
	h.ServeHTTP(httptest.NewRecorder(), r)
	get(h, map[string]string{"x-flag-new-checkout": "off"})
	get(h, nil) // no variant: not recorded

	want := `
# HELP edgeflag_http_request_duration_seconds HTTP request duration in seconds by edgeflag flag and the variant the request got.
# TYPE edgeflag_http_request_duration_seconds histogram
edgeflag_http_request_duration_seconds_bucket{flag="button-color",variant="blue",le="0.01"} 0
edgeflag_http_request_duration_seconds_bucket{flag="button-color",variant="blue",le="0.05"} 3
edgeflag_http_request_duration_seconds_bucket{flag="button-color",variant="blue",le="0.1"} 3
edgeflag_http_request_duration_seconds_bucket{flag="button-color",variant="blue",le="+Inf"} 3
edgeflag_http_request_duration_seconds_sum{flag="button-color",variant="blue"} 0.09
edgeflag_http_request_duration_seconds_count{flag="button-color",variant="blue"} 3
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="off",le="0.01"} 0
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="off",le="0.05"} 1
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="off",le="0.1"} 1
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="off",le="+Inf"} 1
edgeflag_http_request_duration_seconds_sum{flag="new-checkout",variant="off"} 0.03
edgeflag_http_request_duration_seconds_count{flag="new-checkout",variant="off"} 1
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="on",le="0.01"} 0
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="on",le="0.05"} 4
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="on",le="0.1"} 4
edgeflag_http_request_duration_seconds_bucket{flag="new-checkout",variant="on",le="+Inf"} 4
edgeflag_http_request_duration_seconds_sum{flag="new-checkout",variant="on"} 0.12
edgeflag_http_request_duration_seconds_count{flag="new-checkout",variant="on"} 4
# HELP edgeflag_http_requests_total HTTP requests by edgeflag flag, the variant the request got, and response status code.
# TYPE edgeflag_http_requests_total counter
edgeflag_http_requests_total{code="200",flag="button-color",variant="blue"} 3
edgeflag_http_requests_total{code="200",flag="new-checkout",variant="off"} 1
edgeflag_http_requests_total{code="200",flag="new-checkout",variant="on"} 3
edgeflag_http_requests_total{code="503",flag="new-checkout",variant="on"} 1
# HELP edgeflag_http_variants_dropped_total Flag variants seen on requests but not recorded in edgeflag_http_* metrics, by reason (invalid, limit, request_limit).
# TYPE edgeflag_http_variants_dropped_total counter
edgeflag_http_variants_dropped_total{reason="invalid"} 0
edgeflag_http_variants_dropped_total{reason="limit"} 0
edgeflag_http_variants_dropped_total{reason="request_limit"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestWrapStatusCode(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		code    string
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, "200"},
		{"Write only", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) }, "200"},
		{"WriteHeader", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }, "404"},
		{"second WriteHeader ignored", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			w.WriteHeader(http.StatusOK) // net/http logs a superfluous call; the client got 502
		}, "502"},
		{"Write then WriteHeader", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("x"))
			w.WriteHeader(http.StatusInternalServerError)
		}, "200"},
		{"informational first", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, "201"},
		{"Flush first", func(w http.ResponseWriter, _ *http.Request) {
			w.(http.Flusher).Flush()
			w.WriteHeader(http.StatusInternalServerError)
		}, "200"},
		{"ResponseController flush", func(w http.ResponseWriter, _ *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
		}, "200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newMetrics(t, instrument.Options{})
			get(m.Wrap(tt.handler), map[string]string{"X-Flag-F": "v"})
			want := map[string]float64{"code=" + tt.code + ",flag=f,variant=v": 1}
			if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
				t.Errorf("requests = %v, want %v", got, want)
			}
		})
	}
}

func TestWrapPanic(t *testing.T) {
	for _, tt := range []struct {
		name, code string
		before     func(http.ResponseWriter)
	}{
		{"nothing written", "500", func(http.ResponseWriter) {}},
		{"after WriteHeader", "202", func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newMetrics(t, instrument.Options{})
			h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				tt.before(w)
				panic(http.ErrAbortHandler)
			}))
			func() {
				defer func() {
					if p := recover(); p != http.ErrAbortHandler {
						t.Errorf("recovered %v, want the handler's panic", p)
					}
				}()
				get(h, map[string]string{"X-Flag-F": "v"})
			}()
			want := map[string]float64{"code=" + tt.code + ",flag=f,variant=v": 1}
			if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
				t.Errorf("requests = %v, want %v", got, want)
			}
		})
	}
}

// plainWriter is a ResponseWriter with neither Flush nor Hijack.
type plainWriter struct{ http.ResponseWriter }

// hijackOnly is a ResponseWriter with Hijack but not Flush.
type hijackOnly struct{ http.ResponseWriter }

func (hijackOnly) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, errors.New("no") }

func TestWrapOptionalInterfaces(t *testing.T) {
	tests := []struct {
		name           string
		wrap           func(http.ResponseWriter) http.ResponseWriter
		flush, hijack  bool
		controllerSays error // of http.ResponseController.Flush
	}{
		{"recorder", func(w http.ResponseWriter) http.ResponseWriter { return w }, true, false, nil},
		{"plain", func(w http.ResponseWriter) http.ResponseWriter { return plainWriter{w} }, false, false, http.ErrNotSupported},
		{"hijack only", func(w http.ResponseWriter) http.ResponseWriter { return hijackOnly{w} }, false, true, http.ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newMetrics(t, instrument.Options{})
			var flush, hijack bool
			var ctrlErr error
			h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, flush = w.(http.Flusher)
				_, hijack = w.(http.Hijacker)
				ctrlErr = http.NewResponseController(w).Flush()
			}))
			h.ServeHTTP(tt.wrap(httptest.NewRecorder()), httptest.NewRequest(http.MethodGet, "/", nil))
			if flush != tt.flush || hijack != tt.hijack || !errors.Is(ctrlErr, tt.controllerSays) {
				t.Errorf("Flusher %v, Hijacker %v, ResponseController.Flush %v; want %v, %v, %v", flush, hijack, ctrlErr, tt.flush, tt.hijack, tt.controllerSays)
			}
		})
	}
}

// A real server's writer flushes and hijacks through the middleware; hijacked requests
// are not recorded.
func TestWrapRealServer(t *testing.T) {
	m, reg := newMetrics(t, instrument.Options{})
	srv := httptest.NewServer(m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upgrade" {
			conn, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
			_ = rw.Flush()
			return
		}
		w.WriteHeader(http.StatusTeapot)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "streamed")
	})))
	defer srv.Close()
	do := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("x-flag-new-checkout", "on")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if code := do("/"); code != http.StatusTeapot {
		t.Fatalf("status %d", code)
	}
	if code := do("/upgrade"); code != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status %d", code)
	}
	srv.Close() // waits for the handlers
	want := map[string]float64{"code=418,flag=new-checkout,variant=on": 1}
	if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
}

func TestWrapAllowList(t *testing.T) {
	m, reg := newMetrics(t, instrument.Options{Flags: []string{"new-checkout"}})
	h := m.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	get(h, map[string]string{"X-Flag-New-Checkout": "on", "X-Flag-Button-Color": "blue"})
	get(h, map[string]string{"X-Flag-Button-Color": "green"})
	want := map[string]float64{"code=200,flag=new-checkout,variant=on": 1}
	if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	wantDropped := map[string]float64{"reason=invalid": 0, "reason=limit": 0, "reason=request_limit": 0}
	if got := samples(t, reg, instrument.DroppedMetric); !maps.Equal(got, wantDropped) {
		t.Errorf("dropped = %v, want %v", got, wantDropped)
	}
}

// A client sending thousands of made-up x-flag-* headers creates at most MaxVariants
// pairs, at most MaxFlagsPerRequest per request; the pairs recorded first keep counting.
func TestWrapCardinalityCap(t *testing.T) {
	m, reg := newMetrics(t, instrument.Options{MaxVariants: 5, MaxFlagsPerRequest: 3})
	h := m.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	get(h, map[string]string{"X-Flag-A": "on", "X-Flag-B": "on"}) // 2 pairs
	hostile := map[string]string{"X-Flag-Bad": "not valid"}
	for i := range 2000 {
		hostile[fmt.Sprintf("X-Flag-F%04d", i)] = "v"
	}
	get(h, hostile) // f0000..f0002 recorded (3 pairs, 5 in all), 1997 over the request limit, 1 invalid
	get(h, hostile) // the same 3 pairs again
	hostile2 := map[string]string{"X-Flag-Zz": "x"}
	get(h, hostile2)                                              // a 6th pair: over the limit
	get(h, map[string]string{"X-Flag-A": "on", "X-Flag-B": "on"}) // known pairs still count

	got := samples(t, reg, instrument.RequestsMetric)
	want := map[string]float64{
		"code=200,flag=a,variant=on":    2,
		"code=200,flag=b,variant=on":    2,
		"code=200,flag=f0000,variant=v": 2,
		"code=200,flag=f0001,variant=v": 2,
		"code=200,flag=f0002,variant=v": 2,
	}
	if !maps.Equal(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	if n := len(samples(t, reg, instrument.DurationMetric)); n != 5 {
		t.Errorf("%d duration series, want 5", n)
	}
	wantDropped := map[string]float64{"reason=invalid": 2, "reason=limit": 1, "reason=request_limit": 2 * 1997}
	if got := samples(t, reg, instrument.DroppedMetric); !maps.Equal(got, wantDropped) {
		t.Errorf("dropped = %v, want %v", got, wantDropped)
	}
}

func TestRecordVariant(t *testing.T) {
	m, reg := newMetrics(t, instrument.Options{MaxFlagsPerRequest: 2})
	var results []bool
	h := m.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, v := range []struct{ flag, variant string }{
			{"new-checkout", "off"}, // overrides the header
			{"Bad-Key", "x"},        // invalid
		} {
			wg.Go(func() {
				ok := instrument.RecordVariant(ctx, v.flag, v.variant)
				mu.Lock()
				results = append(results, ok)
				mu.Unlock()
			})
		}
		wg.Wait()
		results = append(results,
			instrument.RecordVariant(ctx, "search", "v2"),
			instrument.RecordVariant(ctx, "search", "v3"), // replaces v2
			instrument.RecordVariant(ctx, "third", "x"),   // over MaxFlagsPerRequest
		)
	}))
	get(h, map[string]string{"X-Flag-New-Checkout": "on"})
	if results[0] { // the goroutines' order varies: false (invalid) first
		results[0], results[1] = results[1], results[0]
	}
	if want := []bool{false, true, true, true, false}; !slices.Equal(results, want) {
		t.Errorf("RecordVariant results %v, want %v", results, want)
	}
	want := map[string]float64{
		"code=200,flag=new-checkout,variant=off": 1,
		"code=200,flag=search,variant=v3":        1,
	}
	if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	wantDropped := map[string]float64{"reason=invalid": 1, "reason=limit": 0, "reason=request_limit": 1}
	if got := samples(t, reg, instrument.DroppedMetric); !maps.Equal(got, wantDropped) {
		t.Errorf("dropped = %v, want %v", got, wantDropped)
	}
	if instrument.RecordVariant(httptest.NewRequest(http.MethodGet, "/", nil).Context(), "a", "b") {
		t.Error("RecordVariant outside Wrap reported true")
	}
}

// Nested middlewares (two registries) share the request's variants.
func TestWrapNested(t *testing.T) {
	outer, regOuter := newMetrics(t, instrument.Options{})
	inner, regInner := newMetrics(t, instrument.Options{})
	h := outer.Wrap(inner.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		instrument.RecordVariant(r.Context(), "search", "v2")
	})))
	get(h, nil)
	want := map[string]float64{"code=200,flag=search,variant=v2": 1}
	for name, reg := range map[string]*prometheus.Registry{"outer": regOuter, "inner": regInner} {
		if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
			t.Errorf("%s: requests = %v, want %v", name, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := instrument.New(instrument.Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts instrument.Options
		want string
	}{
		{"registered twice", instrument.Options{Registerer: reg}, "already registered"},
		{"bad flag", instrument.Options{Flags: []string{"New-Checkout"}}, `"New-Checkout" is not a flag key`},
		{"unsorted buckets", instrument.Options{Buckets: []float64{0.1, 0.05}}, "increasing"},
		{"zero bucket", instrument.Options{Buckets: []float64{0, 1}}, "positive"},
		{"negative cap", instrument.Options{MaxVariants: -1}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.Registerer == nil {
				opts.Registerer = prometheus.NewRegistry()
			}
			_, err := instrument.New(opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
	// A failed registration leaves nothing behind: a fresh Metrics can take the names.
	reg2 := prometheus.NewRegistry()
	reg2.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: instrument.DroppedMetric, Help: "taken"}))
	if _, err := instrument.New(instrument.Options{Registerer: reg2}); err == nil {
		t.Fatal("New registered over an existing metric")
	}
	if mfs, _ := reg2.Gather(); len(mfs) != 1 {
		t.Errorf("registry has %d metric families after a failed New, want 1", len(mfs))
	}
}

// pipeHijacker is a ResponseWriter whose Hijack hands over one end of a pipe.
type pipeHijacker struct{ http.ResponseWriter }

func (pipeHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	a, b := net.Pipe()
	_ = b.Close()
	return a, bufio.NewReadWriter(bufio.NewReader(a), bufio.NewWriter(a)), nil
}

// A handler that hijacks the connection, then panics: the panic goes on, nothing is
// recorded.
func TestWrapHijackThenPanic(t *testing.T) {
	m, reg := newMetrics(t, instrument.Options{})
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.Close()
		panic("after hijack")
	}))
	func() {
		defer func() {
			if p := recover(); p != "after hijack" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Flag-F", "v")
		h.ServeHTTP(pipeHijacker{httptest.NewRecorder()}, r)
	}()
	if got := samples(t, reg, instrument.RequestsMetric); len(got) != 0 {
		t.Errorf("requests = %v, want none", got)
	}
}
