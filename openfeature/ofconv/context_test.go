package ofconv

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
)

// describe renders a context as sorted name=value lines.
func describe(ctx *evaluator.Context) string {
	names := slices.Clone(ctx.Names())
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		v := ctx.Get(n)
		if v.Kind() == evaluator.Null {
			continue
		}
		b.WriteString(n + "=" + render(v) + " ")
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
		return "[" + strings.Join(parts, ",") + "]"
	}
	return "null"
}

func TestFill(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"empty", map[string]any{}, ""},
		{"targetingKey doubles as userId", map[string]any{"targetingKey": "u1"}, `targetingKey="u1" userId="u1"`},
		{"an explicit userId wins", map[string]any{"targetingKey": "u1", "userId": "u2"}, `targetingKey="u1" userId="u2"`},
		{"empty targetingKey is absent", map[string]any{"targetingKey": "", "plan": "pro"}, `plan="pro"`},
		{"nested objects flatten with dots", map[string]any{"user": map[string]any{"plan": "pro", "address": map[string]any{"country": "FR"}}},
			`user.address.country="FR" user.plan="pro"`},
		{"empty object sets nothing", map[string]any{"user": map[string]any{}}, ""},
		{"nil is unset", map[string]any{"a": nil, "b": map[string]any{"c": nil}}, ""},
		{"scalars", map[string]any{"s": "x", "b": true, "f": 2.5, "i": 7, "i64": int64(-3), "u8": uint8(9), "f32": float32(0.5), "n": json.Number("12")},
			`b=true f=2.5 f32=0.5 i=7 i64=-3 n=12 s="x" u8=9`},
		{"time becomes RFC 3339", map[string]any{"signup": time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}, `signup="2026-01-02T02:04:05Z"`},
		{"lists", map[string]any{"groups": []any{"a", 1.0, true, nil}, "tags": []string{"x", "y"}, "ns": []int{1, 2}, "fs": []float64{0.5}, "bs": []bool{false}},
			`bs=[false] fs=[0.5] groups=["a",1,true] ns=[1,2] tags=["x","y"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := evaluator.NewContext()
			if err := Fill(ctx, tt.attrs); err != nil {
				t.Fatal(err)
			}
			if got := describe(ctx); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestFillRejects(t *testing.T) {
	deep := map[string]any{}
	m := deep
	for range MaxDepth + 1 {
		next := map[string]any{}
		m["d"] = next
		m = next
	}
	m["leaf"] = 1
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"name given twice", map[string]any{"user": map[string]any{"plan": "a"}, "user.plan": "b"},
			`context attribute "user.plan": given twice (as a dotted name and inside an object, or twice in one object)`},
		{"empty name", map[string]any{"user": map[string]any{"": 1}}, `context attribute "user.": empty attribute name`},
		{"NaN", map[string]any{"x": math.NaN()}, `context attribute "x": number is not finite`},
		{"infinite json number", map[string]any{"x": json.Number("1e999")}, `context attribute "x": number 1e999 is out of range`},
		{"nested list", map[string]any{"x": []any{[]any{1}}}, `context attribute "x": nested lists are not supported`},
		{"object in list", map[string]any{"x": []any{map[string]any{}}}, `context attribute "x": lists may hold only strings, numbers and bools, not objects`},
		{"unsupported type", map[string]any{"x": struct{}{}}, `context attribute "x": unsupported value of Go type struct {}`},
		{"targetingKey not a string", map[string]any{"targetingKey": 42}, `context attribute "targetingKey": must be a string`},
		{"too deep", deep, `context attribute "d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d": objects nested deeper than 32 levels`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := evaluator.NewContext()
			ctx.SetString("left", "over")
			err := Fill(ctx, tt.attrs)
			ce, ok := err.(*ContextError)
			if !ok || ce.Code != evaluator.ErrInvalidContext {
				t.Fatalf("got %v, want an INVALID_CONTEXT *ContextError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
			if len(ctx.Names()) != 0 {
				t.Errorf("context not left empty: %v", ctx.Names())
			}
		})
	}
}

func TestAppendMetadata(t *testing.T) {
	tests := []struct {
		name string
		r    evaluator.Result
		want string
	}{
		{"rule with segment", evaluator.Result{Reason: evaluator.ReasonTargetingMatch, Decision: evaluator.Decision{
			Kind: evaluator.DecidedByRule, Name: "staff", Segment: "internal", Step: -1}}, "decision=rule rule=staff segment=internal snapshot=h"},
		{"ring with schedule", evaluator.Result{Reason: evaluator.ReasonSplit, Decision: evaluator.Decision{
			Kind: evaluator.DecidedByRing, Name: "canary", Step: 2, Bucketed: true, Bucket: 10, Threshold: 50000}},
			"decision=ring ring=canary scheduleStep=2 bucket=10 threshold=50000 snapshot=h"},
		{"prerequisite", evaluator.Result{Reason: evaluator.ReasonDisabled, Decision: evaluator.Decision{
			Kind: evaluator.DecidedByPrerequisite, Name: "base-flag", Step: -1}}, "decision=prerequisite prerequisite=base-flag snapshot=h"},
		{"error", evaluator.Result{Reason: evaluator.ReasonError, Error: evaluator.ErrGeneral}, "snapshot=h"},
	}
	for _, tt := range tests {
		var parts []string
		for _, f := range AppendMetadata(nil, &tt.r, "h") {
			switch v := f.Value.(type) {
			case string:
				parts = append(parts, f.Key+"="+v)
			case int64:
				parts = append(parts, f.Key+"="+strconv.FormatInt(v, 10))
			default:
				t.Errorf("%s: %s has a value of type %T", tt.name, f.Key, f.Value)
			}
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[evaluator.ErrorCode]int{
		evaluator.ErrFlagNotFound: 404, evaluator.ErrParse: 400, evaluator.ErrInvalidContext: 400,
		evaluator.ErrTargetingKeyMissing: 400, evaluator.ErrGeneral: 500, evaluator.ErrTypeMismatch: 500,
	} {
		if got := HTTPStatus(code); got != want {
			t.Errorf("%s: %d, want %d", code, got, want)
		}
	}
}

func TestFillLimits(t *testing.T) {
	attrs := func(n int) map[string]any {
		m := make(map[string]any, n)
		for i := range n {
			m["a"+strconv.Itoa(i)] = float64(i)
		}
		return m
	}
	nested := attrs(evaluator.MaxContextAttributes - 1)
	nested["user"] = map[string]any{"plan": "pro", "tier": "gold"}
	withKey := attrs(evaluator.MaxContextAttributes - 1)
	withKey[TargetingKey] = "u1"
	for _, tc := range []struct {
		name  string
		attrs map[string]any
		want  string // "" for no error
	}{
		{"attributes at the limit", attrs(evaluator.MaxContextAttributes), ""},
		{"attributes over the limit", attrs(8700), "context: more than 1024 attributes"},
		{"over the limit once flattened", nested, "context: more than 1024 attributes"},
		{"over the limit with userId from targetingKey", withKey, "context: more than 1024 attributes"},
		{"list items at the limit", map[string]any{"l": make([]string, evaluator.MaxContextListItems)}, ""},
		{"list items over the limit", map[string]any{"l": make([]string, 4000), "m": make([]string, 97)}, "context: more than 4096 list items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := evaluator.NewContext()
			err := Fill(ctx, tc.attrs)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || err.(*ContextError).Code != evaluator.ErrInvalidContext {
				t.Fatalf("error %v, want INVALID_CONTEXT %q", err, tc.want)
			}
			if ctx.Len() != 0 {
				t.Errorf("context keeps %d attributes", ctx.Len())
			}
		})
	}
}
