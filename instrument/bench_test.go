package instrument_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeflag/edgeflag/instrument"
)

// BenchmarkWrap measures the middleware's cost per request with n x-flag-* headers (the
// edges send one per flag of the project), next doing nothing.
func BenchmarkWrap(b *testing.B) {
	for _, n := range []int{0, 1, 30} {
		b.Run(fmt.Sprint(n, "flags"), func(b *testing.B) {
			m, err := instrument.New(instrument.Options{Registerer: prometheus.NewRegistry()})
			if err != nil {
				b.Fatal(err)
			}
			h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for i := range n {
				r.Header.Set(fmt.Sprintf("x-flag-flag-%02d", i), "on")
			}
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkHook measures an in-process evaluation with the hook, inside a request.
func BenchmarkHook(b *testing.B) {
	client := newClient(b)
	m, err := instrument.New(instrument.Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	user := of.NewEvaluationContext("user-1", map[string]any{"plan": "beta"})
	h := m.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			client.Boolean(r.Context(), "new-checkout", false, user)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}
