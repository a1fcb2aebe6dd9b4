//go:build !wasip1

package evaluator

import (
	"strconv"
	"strings"
	"testing"
)

// manyAttributes returns a JSON object of n short attributes, {"0":1,"1":1,...} (names in base 36), and the
// byte offset of each attribute's name.
func manyAttributes(n int) (string, []int) {
	var b strings.Builder
	offsets := make([]int, n)
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		offsets[i] = b.Len()
		b.WriteString(`"` + strconv.FormatInt(int64(i), 36) + `":1`)
	}
	b.WriteByte('}')
	return b.String(), offsets
}

func TestParseContextLimitsWhileReading(t *testing.T) {
	over := `{"l":[` + strings.Repeat(`1,`, MaxContextListItems) + `1]}`
	body, offsets := manyAttributes(7500)
	if len(body) > MaxContextSize {
		t.Fatalf("test body of %d bytes is over the size limit", len(body))
	}
	within, _ := manyAttributes(MaxContextAttributes)
	for _, tc := range []struct {
		name, body string
		offset     int // of the error; -1: no error
		reason     string
	}{
		{"attributes at the limit", within, -1, ""},
		// The 1,025th attribute is refused where it starts: the other 6,475 are not read.
		{"attributes over the limit", body, offsets[MaxContextAttributes], "more than 1024 attributes"},
		{"list items over the limit", over, 1, "more than 4096 list items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := NewContext()
			err := ParseContext([]byte(tc.body), ctx)
			if tc.offset < 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ce, ok := err.(*ContextError)
			if !ok || ce.Code != ErrInvalidContext || ce.Offset != tc.offset || ce.Reason != tc.reason {
				t.Fatalf("error %#v, want INVALID_CONTEXT %q at byte %d", err, tc.reason, tc.offset)
			}
			if ctx.Len() != 0 {
				t.Errorf("context keeps %d attributes after the error", ctx.Len())
			}
		})
	}
}

func TestEvaluateOverLimits(t *testing.T) {
	var b builder
	b.flags = append(b.flags, b.boolFlag("f"))
	e := New(b.build(t))
	ctx := NewContext()
	for i := range MaxContextAttributes - 1 {
		ctx.SetNumber("a"+strconv.Itoa(i), 1)
	}
	ctx.SetString("userId", "u1")
	if r := e.EvaluateAt("f", ctx, 0); r.Reason == ReasonError {
		t.Fatalf("at the limit: %+v", r)
	}
	ctx.SetString("one-more", "x")
	want := "context: more than 1024 attributes"
	if r := e.EvaluateAt("f", ctx, 0); r.Error != ErrInvalidContext || r.Message != want {
		t.Errorf("over the limit: %+v, want INVALID_CONTEXT %q", r, want)
	}
	if rs := e.EvaluateAllAt(ctx, 0, nil); len(rs) != 1 || rs[0].Error != ErrInvalidContext || rs[0].Key != "f" {
		t.Errorf("EvaluateAll over the limit: %+v", rs)
	}
	ctx.Reset()
	ctx.SetString("userId", "u1")
	ctx.Set("l", Strings(make([]string, MaxContextListItems+1)...))
	if r := e.EvaluateAt("f", ctx, 0); r.Error != ErrInvalidContext || r.Message != "context: more than 4096 list items" {
		t.Errorf("list items over the limit: %+v", r)
	}
	// Replacing a list gives its items back.
	ctx.Set("l", Strings("a"))
	if r := e.EvaluateAt("f", ctx, 0); r.Reason == ReasonError || ctx.ListItems() != 1 {
		t.Errorf("after replacing the list: %+v, %d items", r, ctx.ListItems())
	}
}

// Set and Get find names through an index once a context has more than a few attributes,
// so that filling a context of n attributes costs O(n), not O(n²): the index holds every
// name at its position, across replacements and Reset.
func TestContextIndex(t *testing.T) {
	for _, n := range []int{0, 1, linearNames, linearNames + 1, 5000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			ctx := NewContext()
			for round := range 2 { // the second round reuses the space Reset kept
				ctx.Reset()
				for i := range n {
					ctx.SetNumber("a"+strconv.Itoa(i), float64(i))
				}
				for i := range n {
					ctx.SetNumber("a"+strconv.Itoa(i), float64(i+round)) // replaces
				}
				if ctx.Len() != n {
					t.Fatalf("round %d: %d attributes, want %d", round, ctx.Len(), n)
				}
				for i := range n {
					if v := ctx.Get("a" + strconv.Itoa(i)); v.Num() != float64(i+round) {
						t.Fatalf("round %d: a%d = %v", round, i, v.Num())
					}
				}
				if ctx.Get("missing").Kind() != Null {
					t.Fatal("missing attribute found")
				}
				if n > linearNames {
					if len(ctx.pos) != n {
						t.Fatalf("round %d: index of %d names, want %d", round, len(ctx.pos), n)
					}
					for name, i := range ctx.pos {
						if ctx.names[i] != name {
							t.Fatalf("index maps %q to %q", name, ctx.names[i])
						}
					}
				}
			}
		})
	}
}
