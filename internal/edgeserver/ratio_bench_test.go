package edgeserver

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/snapshot"
)

// The ratio benchmarks answer the same request through the Go edge server's handler (the
// module under wazero) and through the same handler over the native evaluator
// (ofrep.Native for OFREP, NativeSource for GET /evaluate), in the same run, and report
// the module's time as a multiple of the native one (x-native), besides its own ns/op and
// allocations:
//
//	go test -run '^$' -bench Ratio -benchmem ./internal/edgeserver
//
// The request and the response writer are reused so that the harness does not dominate
// the allocations counted.

// reusedWriter is an http.ResponseWriter whose header map and body buffer are reused.
type reusedWriter struct {
	header http.Header
	status int
	body   []byte
}

func (w *reusedWriter) Header() http.Header { return w.header }

func (w *reusedWriter) WriteHeader(status int) { w.status = status }

func (w *reusedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *reusedWriter) reset() {
	clear(w.header)
	w.status, w.body = 0, w.body[:0]
}

// reusedRequest is a request whose body can be read again.
type reusedRequest struct {
	req  *http.Request
	rd   *bytes.Reader
	body []byte
}

func newReusedRequest(method, path, body string) *reusedRequest {
	rr := &reusedRequest{req: httptest.NewRequest(method, path, nil), body: []byte(body)}
	rr.rd = bytes.NewReader(rr.body)
	rr.req.Body = io.NopCloser(rr.rd)
	return rr
}

// serve sends the request to h and fails b unless the status is want.
func (rr *reusedRequest) serve(b *testing.B, h http.Handler, w *reusedWriter, want int) {
	rr.rd.Reset(rr.body)
	w.reset()
	h.ServeHTTP(w, rr.req)
	if w.status != want {
		b.Fatal(w.status, string(w.body))
	}
}

// nativeNsPerOp times one request to the native handler, to compare with.
func nativeNsPerOp(b *testing.B, h http.Handler, rr *reusedRequest) float64 {
	b.Helper()
	w := &reusedWriter{header: http.Header{}}
	rr.serve(b, h, w, 200)
	const n = 20000
	start := time.Now()
	for range n {
		rr.serve(b, h, w, 200)
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// BenchmarkRatioOFREP is one OFREP single-flag request and one bulk request for the 24
// example flags, through the edge server's handler, against the native handler.
func BenchmarkRatioOFREP(b *testing.B) {
	srv := benchServer(b)
	native := ofrep.NewNative()
	if _, err := native.Load(exampleSnapshot(b, "production")); err != nil {
		b.Fatal(err)
	}
	nh := ofrep.NewHandler(native, ofrep.Options{Now: func() time.Time { return noon }})
	const body = `{"context":{"targetingKey":"user-42","email":"alice@company.com","country":"DE","plan":"pro"}}`
	for _, bc := range []struct{ name, path string }{
		{"single", ofrep.PathFlag + "new-checkout-flow"},
		{"bulk", ofrep.PathFlags},
	} {
		b.Run(bc.name, func(b *testing.B) {
			nat := nativeNsPerOp(b, nh, newReusedRequest("POST", bc.path, body))
			rr := newReusedRequest("POST", bc.path, body)
			w := &reusedWriter{header: http.Header{}}
			rr.serve(b, srv, w, 200)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				rr.serve(b, srv, w, 200)
			}
			b.ReportMetric(nat, "native-ns/op")
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/nat, "x-native")
		})
	}
}

// BenchmarkRatioEvaluate is GET /evaluate for the 24 example flags through the edge
// server's handler on the module, against the same handler on the native evaluator
// (NativeSource), which answers the same bytes: x-native. x-evaluator compares with the
// native evaluator's work alone, without HTTP (every flag evaluated and its result's JSON
// written by Result.AppendJSON), the reference before the server had a native backend.
func BenchmarkRatioEvaluate(b *testing.B) {
	srv := benchServer(b)
	store, _ := newStore(b, "production", exampleSnapshot(b, "production"))
	nativeSrv, err := New(Config{Backend: NewNativeSource(), StoreURL: store.URL, Now: func() time.Time { return noon }})
	if err != nil {
		b.Fatal(err)
	}
	if err := nativeSrv.Poll(b.Context()); err != nil {
		b.Fatal(err)
	}
	newRequest := func() *reusedRequest {
		rr := newReusedRequest("GET", PathEvaluate, "")
		rr.req.Header.Set("X-User-Id", "user-42")
		rr.req.Header.Set("CF-IPCountry", "DE")
		return rr
	}
	nat := nativeNsPerOp(b, nativeSrv, newRequest())

	s, err := evaluatorFor(b)
	if err != nil {
		b.Fatal(err)
	}
	ctx := evaluator.NewContext()
	ctx.SetString("userId", "user-42")
	ctx.SetString("country", "DE")
	var results []evaluator.Result
	var out []byte
	const n = 20000
	start := time.Now()
	for range n {
		results = s.EvaluateAll(ctx, noon, results[:0])
		out = append(out[:0], `{"flags":[`...)
		for i := range results {
			out = results[i].AppendJSON(out)
		}
	}
	bare := float64(time.Since(start).Nanoseconds()) / n

	rr := newRequest()
	w := &reusedWriter{header: http.Header{}}
	rr.serve(b, srv, w, 200)
	b.ReportAllocs()
	start = time.Now()
	for b.Loop() {
		rr.serve(b, srv, w, 200)
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(nat, "native-ns/op")
	b.ReportMetric(ns/nat, "x-native")
	b.ReportMetric(bare, "evaluator-ns/op")
	b.ReportMetric(ns/bare, "x-evaluator")
}

// evaluatorFor returns a native evaluator of the example flags.
func evaluatorFor(b *testing.B) (*evaluator.Evaluator, error) {
	s, err := snapshot.Decode(exampleSnapshot(b, "production"))
	if err != nil {
		return nil, err
	}
	return evaluator.New(s), nil
}
