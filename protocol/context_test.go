package protocol

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
)

// describeContext renders a context as sorted name=value pairs.
func describeContext(ctx *evaluator.Context) string {
	names := append([]string(nil), ctx.Names()...)
	sortStrings(names)
	var b strings.Builder
	for _, n := range names {
		if v := ctx.Get(n); v.Kind() != evaluator.Null {
			b.WriteString(n + "=" + render(v) + " ")
		}
	}
	return strings.TrimSpace(b.String())
}

func render(v evaluator.Value) string {
	switch v.Kind() {
	case evaluator.StringKind:
		return strconv.Quote(v.Str())
	case evaluator.NumberKind:
		return strconv.FormatFloat(v.Num(), 'g', -1, 64)
	case evaluator.BoolKind:
		return strconv.FormatBool(v.Truth())
	case evaluator.ListKind:
		parts := make([]string, len(v.Items()))
		for i, item := range v.Items() {
			parts[i] = render(item)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "null"
}

func TestParseContext(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"scalars and escapes", `{"userId":"u1","email":"a\u0040company.com","beta":true,"days":400,"ratio":-1.5e2,"esc":"tab\there \"q\" \ud83d\ude00"}`,
			`beta=true days=400 email="a@company.com" esc="tab\there \"q\" 😀" ratio=-150 userId="u1"`},
		{"null leaves unset, in lists too", `{"gone":null,"groups":["a","b",null]}`, `groups=["a" "b"]`},
		{"nested objects flatten with dots", `{"user":{"plan":"pro","address":{"country":"FR"}},"empty":{}}`, `user.address.country="FR" user.plan="pro"`},
		{"targetingKey doubles as userId", `{"targetingKey":"u1"}`, `targetingKey="u1" userId="u1"`},
		{"an explicit userId wins", `{"targetingKey":"u1","userId":"u2"}`, `targetingKey="u1" userId="u2"`},
		{"empty targetingKey is absent", `{"targetingKey":"","plan":"pro"}`, `plan="pro"`},
		{"invalid UTF-8 and lone surrogates", "{\"a\":\"x\xffy\",\"b\":\"\\ud800\"}", `a="x�y" b="�"`},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := evaluator.NewContext()
			if err := p.ParseContext([]byte(tt.in), ctx); err != nil {
				t.Fatal(err)
			}
			if got := describeContext(ctx); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseContextErrors(t *testing.T) {
	tests := []struct {
		in   string
		code evaluator.ErrorCode
		want string
	}{
		{``, evaluator.ErrParse, "invalid JSON: unexpected end of JSON input (at byte 0)"},
		{`{"a":}`, evaluator.ErrParse, "invalid JSON: invalid character '}' where a value is expected (at byte 5)"},
		{`{"a":1,}`, evaluator.ErrParse, "where an object member name is expected (at byte 7)"},
		{`{"a":1} x`, evaluator.ErrParse, "after the JSON value (at byte 8)"},
		{`{"a":01}`, evaluator.ErrParse, "after an object member"},
		{`{"a":1e}`, evaluator.ErrParse, "in a number"},
		{`{"a":"bad \x escape"}`, evaluator.ErrParse, "invalid escape 'x' in a string"},
		{`{"a":tru}`, evaluator.ErrParse, "in literal true"},
		{`{a:1}`, evaluator.ErrParse, "where an object member name is expected (at byte 1)"},
		{`[]`, evaluator.ErrInvalidContext, "a context must be a JSON object of attributes"},
		{`{"a":[[1]]}`, evaluator.ErrInvalidContext, `context attribute "a": nested lists are not supported`},
		{`{"a":[{}]}`, evaluator.ErrInvalidContext, `context attribute "a": lists may hold only strings, numbers and bools, not objects`},
		{`{"a":{"b":1},"a.b":2}`, evaluator.ErrInvalidContext, `context attribute "a.b": given twice (as a dotted name and inside an object, or twice in one object)`},
		{`{"a":1,"a":2}`, evaluator.ErrInvalidContext, `context attribute "a": given twice`},
		{`{"x":{"":1}}`, evaluator.ErrInvalidContext, `context attribute "x.": empty attribute name`},
		{`{"a":1e999}`, evaluator.ErrInvalidContext, `context attribute "a": number 1e999 is out of range`},
		{`{"targetingKey":5}`, evaluator.ErrInvalidContext, `context attribute "targetingKey": must be a string`},
		{strings.Repeat(`{"d":`, MaxDepth+1) + `1` + strings.Repeat(`}`, MaxDepth+1), evaluator.ErrInvalidContext,
			`context attribute "` + strings.TrimSuffix(strings.Repeat("d.", MaxDepth), ".") + `": objects nested deeper than ` + strconv.Itoa(MaxDepth) + ` levels`},
	}
	var p Parser
	for _, tt := range tests {
		ctx := evaluator.NewContext().SetString("left", "over")
		err := p.ParseContext([]byte(tt.in), ctx)
		if err == nil || err.Code != tt.code || !strings.Contains(err.Details, tt.want) {
			t.Errorf("ParseContext(%.40q) = %v, want %s %q", tt.in, err, tt.code, tt.want)
		}
		if ctx.Len() != 0 {
			t.Errorf("ParseContext(%.40q) left attributes behind", tt.in)
		}
	}
}

// TestParseContextLimitsWhileReading: a context over the limits is refused at the first
// attribute over, and ctx is left empty.
func TestParseContextLimitsWhileReading(t *testing.T) {
	attrs := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strconv.FormatInt(int64(i), 36) + `":1`)
		}
		return b.String() + "}"
	}
	tests := []struct {
		name, body, want string
	}{
		{"attributes at the limit", attrs(evaluator.MaxContextAttributes), ""},
		{"attributes over the limit", attrs(7500), "context: more than 1024 attributes"},
		{"userId from targetingKey over the limit",
			strings.TrimSuffix(attrs(evaluator.MaxContextAttributes-1), "}") + `,"targetingKey":"u1"}`, "context: more than 1024 attributes"},
		{"list items over the limit", `{"l":[` + strings.Repeat(`1,`, evaluator.MaxContextListItems) + `1]}`, "context: more than 4096 list items"},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := evaluator.NewContext()
			err := p.ParseContext([]byte(tt.body), ctx)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Code != evaluator.ErrInvalidContext || err.Details != tt.want {
				t.Fatalf("error %v, want INVALID_CONTEXT %q", err, tt.want)
			}
			if ctx.Len() != 0 {
				t.Errorf("context keeps %d attributes after the error", ctx.Len())
			}
		})
	}
}

// TestReasonTooDeepNamesMaxDepth: the refusal's words are a constant (no strconv in the
// module's path), which must say MaxDepth.
func TestReasonTooDeepNamesMaxDepth(t *testing.T) {
	if want := "objects nested deeper than " + strconv.Itoa(MaxDepth) + " levels"; reasonTooDeep != want {
		t.Fatalf("reasonTooDeep = %q, want %q", reasonTooDeep, want)
	}
}

// TestParseValuesMatchesParser: a context given as JSON (to Parser) and as the Go values
// encoding/json decodes it to (to ParseValues) gives the same attributes, or the same
// refusal in the same words: the rules are one implementation.
func TestParseValuesMatchesParser(t *testing.T) {
	deep := strings.Repeat(`{"d":`, MaxDepth+1) + `1` + strings.Repeat(`}`, MaxDepth+1)
	inputs := []string{
		`{}`,
		`{"targetingKey":"u1","plan":"pro","beta":true,"days":400,"ratio":-0.25}`,
		`{"targetingKey":"u1","userId":"u2"}`,
		`{"targetingKey":"","plan":"pro"}`,
		`{"targetingKey":5}`,
		`{"targetingKey":["u1"]}`,
		`{"user":{"plan":"pro","address":{"country":"FR"}},"empty":{},"gone":null}`,
		`{"groups":["a",1,true,null],"none":[]}`,
		`{"user":{"plan":"a"},"user.plan":"b"}`,
		`{"user":{"":1}}`,
		`{"":1}`,
		`{"x":[[1]]}`,
		`{"x":[{}]}`,
		`{"x":{"a":[1,[2]]}}`,
		`{"d":` + deep + `}`,
		`{"l":[` + strings.Repeat(`"x",`, evaluator.MaxContextListItems) + `"y"]}`,
	}
	var p Parser
	for _, in := range inputs {
		var attrs map[string]any
		if err := json.Unmarshal([]byte(in), &attrs); err != nil {
			t.Fatal(err)
		}
		fromJSON, fromValues := evaluator.NewContext(), evaluator.NewContext().SetString("left", "over")
		jsonErr, valuesErr := p.ParseContext([]byte(in), fromJSON), ParseValues(attrs, fromValues)
		if (jsonErr == nil) != (valuesErr == nil) || jsonErr != nil && *jsonErr != *valuesErr {
			t.Errorf("%.50s: Parser says %v, ParseValues %v", in, jsonErr, valuesErr)
			continue
		}
		if got, want := describeContext(fromValues), describeContext(fromJSON); got != want {
			t.Errorf("%.50s: ParseValues gives %s, Parser %s", in, got, want)
		}
	}
}

// TestParseValuesGoTypes: the Go types beside JSON's, and what is refused.
func TestParseValuesGoTypes(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  string // the context, or the error's details
	}{
		{"integers and floats", map[string]any{"i": 7, "i64": int64(-3), "u8": uint8(9), "f32": float32(0.5), "n": json.Number("12")},
			`f32=0.5 i=7 i64=-3 n=12 u8=9`},
		{"time becomes RFC 3339 in UTC", map[string]any{"signup": time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
			`signup="2026-01-02T02:04:05Z"`},
		{"typed lists", map[string]any{"tags": []string{"x", "y"}, "ns": []int{1, 2}, "fs": []float64{0.5}, "bs": []bool{false}},
			`bs=[false] fs=[0.5] ns=[1 2] tags=["x" "y"]`},
		{"NaN", map[string]any{"x": math.NaN()}, `context attribute "x": number is not finite`},
		{"infinite json.Number", map[string]any{"x": json.Number("1e999")}, `context attribute "x": number 1e999 is out of range`},
		{"typed list in a list", map[string]any{"x": []any{[]string{"a"}}}, `context attribute "x": nested lists are not supported`},
		{"unsupported type", map[string]any{"x": struct{}{}}, `context attribute "x": unsupported value of Go type struct {}`},
		{"unsupported type in a list", map[string]any{"x": []any{time.Second}}, `context attribute "x": unsupported value of Go type time.Duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := evaluator.NewContext()
			got := ""
			if err := ParseValues(tt.attrs, ctx); err != nil {
				if err.Code != evaluator.ErrInvalidContext || ctx.Len() != 0 {
					t.Errorf("error %v, context of %d attributes: want INVALID_CONTEXT and an empty context", err, ctx.Len())
				}
				got = err.Details
			} else {
				got = describeContext(ctx)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzParseContext(f *testing.F) {
	f.Add([]byte(`{"userId":"u1","n":1.5,"b":true,"l":["x",2]}`))
	f.Add([]byte(`{"a":"\ud83d\ude00","user":{"plan":"pro"},"targetingKey":"k"}`))
	f.Add([]byte(`{"a":{"b":1},"a.b":2}`))
	var p Parser
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := evaluator.NewContext()
		err := p.ParseContext(data, ctx)
		if err == nil {
			return
		}
		if err.Code != evaluator.ErrParse && err.Code != evaluator.ErrInvalidContext || err.Details == "" {
			t.Fatalf("error %+v", err)
		}
		if ctx.Len() != 0 {
			t.Fatalf("%d attributes left after %v", ctx.Len(), err)
		}
	})
}

// TestParseRequestContextMembers holds ParseRequest to reading the body's "context"
// members where they stand, the last one counting: what it set, or the error it gave,
// replaces an earlier one's, and other members are passed over whatever they hold.
func TestParseRequestContextMembers(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // the context, or the error
	}{
		{"one", `{"context":{"targetingKey":"u1","plan":"pro"}}`, `plan="pro" targetingKey="u1" userId="u1"`},
		{"none", `{"other":{"plan":"pro"}}`, ``},
		{"null", `{"context":null}`, ``},
		{"members around it", `{"a":[1,{"b":"}"}],"context":{"plan":"pro"},"z":"context"}`, `plan="pro"`},
		{"the last of two", `{"context":{"plan":"pro","seats":3},"context":{"plan":"free"}}`, `plan="free"`},
		{"a valid one after an invalid one", `{"context":{"a":1,"a":2},"context":{"plan":"pro"}}`, `plan="pro"`},
		{"a valid one after one that is not an object", `{"context":[1],"context":{"plan":"pro"}}`, `plan="pro"`},
		{"null after a valid one", `{"context":{"plan":"pro"},"context":null}`, ``},
		{"an invalid one after a valid one", `{"context":{"plan":"pro"},"context":{"a":1,"a":2}}`, `INVALID_CONTEXT: context attribute "a": given twice (as a dotted name and inside an object, or twice in one object)`},
		{"not an object after a valid one", `{"context":{"plan":"pro"},"context":"u1"}`, `INVALID_CONTEXT: "context" must be a JSON object of attributes`},
		{"a targetingKey of the wrong type, then a valid one", `{"context":{"targetingKey":1},"context":{"targetingKey":"u2"}}`, `targetingKey="u2" userId="u2"`},
		{"escaped names and lists in both", `{"context":{"gr\u006fups":["a","b"]},"con\u0074ext":{"t\u0061gs":["x"],"n":{"m":1}}}`, `n.m=1 tags=["x"]`},
	}
	var p Parser
	ctx := evaluator.NewContext()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := p.ParseRequest([]byte(tt.body), ctx); err != nil {
				got = err.Error()
			} else {
				got = describeContext(ctx)
			}
			if got != tt.want {
				t.Errorf("ParseRequest(%s) = %s, want %s", tt.body, got, tt.want)
			}
		})
	}
}
