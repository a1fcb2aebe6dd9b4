//go:build !wasip1

package evaluator

import (
	"errors"
	"testing"
)

func TestParseContext(t *testing.T) {
	ctx := NewContext()
	in := `{"userId":"u1","email":"a\u0040company.com","betaProgram":true,"accountAgeDays":400,
	        "ratio":-1.5e2,"groups":["a","b",null],"gone":null,"esc":"tab\there \"q\" \ud83d\ude00"}`
	if err := ParseContext([]byte(in), ctx); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		want Value
	}{
		{"userId", String("u1")},
		{"email", String("a@company.com")},
		{"betaProgram", Bool(true)},
		{"accountAgeDays", Number(400)},
		{"ratio", Number(-150)},
		{"esc", String("tab\there \"q\" 😀")},
	}
	for _, c := range checks {
		got := ctx.Get(c.name)
		if got.kind != c.want.kind || got.str != c.want.str || got.num != c.want.num {
			t.Errorf("%s = %+v, want %+v", c.name, got, c.want)
		}
	}
	if g := ctx.Get("groups"); g.kind != ListKind || len(g.list) != 2 || g.list[1].str != "b" {
		t.Errorf("groups = %+v", g)
	}
	if ctx.Get("gone").kind != Null {
		t.Error("null attribute should be unset")
	}
}

func TestParseContextErrors(t *testing.T) {
	tests := []struct {
		in   string
		code ErrorCode
	}{
		{``, ErrParse},
		{`[]`, ErrParse},
		{`{"a":}`, ErrParse},
		{`{"a":1,}`, ErrParse},
		{`{"a":1} x`, ErrParse},
		{`{"a":"unterminated}`, ErrParse},
		{`{"a":01}`, ErrParse},
		{`{"a":1e}`, ErrParse},
		{`{"a":"bad \x escape"}`, ErrParse},
		{`{"a":tru}`, ErrParse},
		{`{a:1}`, ErrParse},
		{`{"a":{"b":1}}`, ErrInvalidContext},
		{`{"a":[[1]]}`, ErrInvalidContext},
	}
	for _, tt := range tests {
		ctx := NewContext().SetString("stale", "x")
		err := ParseContext([]byte(tt.in), ctx)
		var ce *ContextError
		if !errors.As(err, &ce) || ce.Code != tt.code {
			t.Errorf("ParseContext(%q) = %v, want %s", tt.in, err, tt.code)
		}
		if len(ctx.Names()) != 0 {
			t.Errorf("ParseContext(%q) left attributes behind", tt.in)
		}
	}
}

func TestEvaluateJSON(t *testing.T) {
	e := New(rolloutFixture(t))
	ctx := NewContext()
	r := e.EvaluateJSON("search", []byte(`{"email":"dev@company.com"}`), ctx, evalTime.UnixMilli())
	if r.Name != "developers" {
		t.Fatalf("got %+v", r)
	}
	r = e.EvaluateJSON("search", []byte(`{"email":`), ctx, evalTime.UnixMilli())
	if r.Error != ErrParse {
		t.Fatalf("got %+v", r)
	}
}

func FuzzParseContext(f *testing.F) {
	f.Add([]byte(`{"userId":"u1","n":1.5,"b":true,"l":["x",2]}`))
	f.Add([]byte(`{"a":"\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := NewContext()
		if err := ParseContext(data, ctx); err != nil {
			var ce *ContextError
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T", err)
			}
		}
	})
}
