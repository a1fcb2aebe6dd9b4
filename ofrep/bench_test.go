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

// A context of many short attributes: the 64 KB body of about 7,500 attributes is refused
// at the 1,025th, and a context at the limit costs in proportion to its attributes.
func BenchmarkManyAttributes(b *testing.B) {
	n, _ := loadedNative(b)
	h := NewHandler(n, Options{})
	for _, bc := range []struct {
		name   string
		attrs  int
		status int
	}{
		{"128", 128, 200},
		{"1024", 1024, 200},
		{"7500", 7500, 400},
	} {
		body := manyAttributesBody(bc.attrs)
		for _, path := range []struct{ name, path string }{
			{"single", "/ofrep/v1/evaluate/flags/checkout"},
			{"bulk", "/ofrep/v1/evaluate/flags"},
		} {
			b.Run(bc.name+"/"+path.name, func(b *testing.B) {
				for b.Loop() {
					req := httptest.NewRequest("POST", path.path, strings.NewReader(body))
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != bc.status {
						b.Fatal(rec.Code, rec.Body.String())
					}
				}
			})
		}
	}
}
