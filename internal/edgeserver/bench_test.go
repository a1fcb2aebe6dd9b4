package edgeserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/protocol"
)

// The benchmarks measure what the Source adds to the module (reading its JSON back into
// results) and a whole request through the handler, without the network:
//
//	go test -run '^$' -bench . -benchmem ./internal/edgeserver

func benchSource(b *testing.B) (*Source, *evaluator.Context) {
	b.Helper()
	src := NewSource(newHost(b))
	if _, err := src.Load(exampleSnapshot(b, "production")); err != nil {
		b.Fatal(err)
	}
	ctx := parseContext(b, `{"userId":"user-42","email":"alice@company.com","country":"DE","plan":"pro"}`)
	return src, ctx
}

// BenchmarkHostEvaluate is the module alone: one flag, JSON appended to a buffer.
func BenchmarkHostEvaluate(b *testing.B) {
	src, ctx := benchSource(b)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = src.ev.Evaluate(buf[:0], "new-checkout-flow", ctx, noon)
	}
}

// BenchmarkSourceResults is one flag through the Source: the module's results frame,
// read.
func BenchmarkSourceResults(b *testing.B) {
	src, ctx := benchSource(b)
	keys := []string{"new-checkout-flow"}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = src.Results(buf[:0], keys, ctx, noon); err != nil {
			b.Fatal(err)
		}
		if res, ok := protocol.ReadResults(buf); !ok {
			b.Fatal("unreadable")
		} else if r, _ := res.Next(); !r.OK {
			b.Fatal(string(r.JSON))
		}
	}
}

// BenchmarkSourceResultsAll is every example flag through the Source.
func BenchmarkSourceResultsAll(b *testing.B) {
	src, ctx := benchSource(b)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = src.Results(buf[:0], nil, ctx, noon); err != nil {
			b.Fatal(err)
		}
		res, _ := protocol.ReadResults(buf)
		for _, ok := res.Next(); ok; _, ok = res.Next() {
		}
	}
}

// benchServer returns a Server that has loaded the example flags.
func benchServer(b *testing.B) *Server {
	b.Helper()
	store, _ := newStore(b, "production", exampleSnapshot(b, "production"))
	srv, err := New(Config{Evaluator: newHost(b), StoreURL: store.URL, Now: func() time.Time { return noon }})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Poll(b.Context()); err != nil {
		b.Fatal(err)
	}
	return srv
}

// BenchmarkServerEvaluate is GET /evaluate for every flag, headers and body, in process.
func BenchmarkServerEvaluate(b *testing.B) {
	srv := benchServer(b)
	req := httptest.NewRequest("GET", "/evaluate", nil)
	req.Header.Set("X-User-Id", "user-42")
	req.Header.Set("CF-IPCountry", "DE")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkServerOFREP is one OFREP single-flag request, in process.
func BenchmarkServerOFREP(b *testing.B) {
	srv := benchServer(b)
	const body = `{"context":{"targetingKey":"user-42","email":"alice@company.com"}}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", ofrep.PathFlag+"new-checkout-flow", strings.NewReader(body))
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
