package ofrep

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The handler's own cost per request, without the network: parsing the context, evaluating,
// writing the response (and hashing it for the bulk ETag).
func BenchmarkHandler(b *testing.B) {
	n, _ := loadedNative(b)
	h := NewHandler(n, Options{})
	const body = `{"context":{"targetingKey":"user-1","account":{"plan":"pro"},"email":"a@example.com"}}`
	for _, bc := range []struct{ name, path string }{
		{"single", "/ofrep/v1/evaluate/flags/checkout"},
		{"bulk", "/ofrep/v1/evaluate/flags"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", bc.path, strings.NewReader(body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}
