//go:build !wasip1

package evaluator

import (
	"strconv"
	"testing"
)

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
