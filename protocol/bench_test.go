package protocol

import (
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
)

// benchBodies are request bodies of the kinds a host reads: the first pass over each is
// the syntax check, the second reads the context.
var benchBodies = []struct{ name, body string }{
	{"small", `{"context":{"targetingKey":"user-1","account":{"plan":"pro"},"email":"a@example.com"}}`},
	{"escapes", `{"context":{"targetingKey":"user-1","name":"Ren\u00e9e \"R\" M\u00fcller","city":"Zürich","tags":["a\tb","c\\d","\ud83d\ude00"]}}`},
	{"numbers", `{"context":{"targetingKey":"u","a":1,"b":-2.5,"c":3e10,"d":0.000125,"e":[1,2,3,4,5,6,7,8,9,10]}}`},
	{"ignored", `{"meta":{"trace":[{"id":"a1","spans":[[1,2],[3,4]],"ok":true,"x":null}],"pad":"` + strings.Repeat("x", 2000) + `"},"context":{"targetingKey":"u"}}`},
	{"spaced", "{\n  \"context\": {\n    \"targetingKey\": \"user-1\",\n    \"plan\": \"pro\",\n    \"seats\": 12\n  }\n}\n"},
	{"deep", `{"x":` + strings.Repeat(`[`, 500) + strings.Repeat(`]`, 500) + `,"context":{"targetingKey":"u"}}`},
}

func BenchmarkParseRequest(b *testing.B) {
	for _, bc := range benchBodies {
		b.Run(bc.name, func(b *testing.B) {
			var p Parser
			var ctx evaluator.Context
			body := []byte(bc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.ParseRequest(body, &ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A body refused by the syntax check costs its message.
func BenchmarkParseRequestInvalid(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"member", `{"context":{"targetingKey":"u" "plan":"pro"}}`},
		{"truncated", `{"context":{"targetingKey":"user-1","plan":"p`},
		{"late", `{"context":{"targetingKey":"user-1"},"pad":"` + strings.Repeat("x", 2000) + `"]`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var p Parser
			var ctx evaluator.Context
			body := []byte(bc.body)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.ParseRequest(body, &ctx); err == nil || err.Code != evaluator.ErrParse {
					b.Fatal(err)
				}
			}
		})
	}
}
