package evaluator

import (
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

func TestContextAll(t *testing.T) {
	ctx := NewContext().SetString("b", "x").SetNumber("a", 1).SetBool("b", true)
	var names []string
	for name, v := range ctx.All() {
		names = append(names, name)
		if g := ctx.Get(name); v.kind != g.kind || v.str != g.str || v.num != g.num {
			t.Errorf("%s: All gives %+v, Get %+v", name, v, g)
		}
	}
	if len(names) != 2 || names[0] != "b" || names[1] != "a" {
		t.Errorf("names %v, want [b a]", names)
	}
	for range ctx.All() {
		break // stopping early is fine
	}
}

// TestContextBinding: attributes are resolved when first read, a null value reads as
// absent, and changing the context after a read is seen by the next evaluation.
func TestContextBinding(t *testing.T) {
	s := &snapshot.Snapshot{Attributes: []string{"country", "email", "userId"}}
	ctx := NewContext().SetString("userId", "u1").Set("email", Value{})
	ctx.bind(s)
	if v := ctx.attr(2); v == nil || v.Str() != "u1" {
		t.Fatalf("userId = %+v", v)
	}
	if v := ctx.attr(1); v != nil {
		t.Fatalf("a null email reads as %+v", v)
	}
	if v := ctx.attr(0); v != nil {
		t.Fatalf("a missing country reads as %+v", v)
	}
	if v := ctx.attr(7); v != nil {
		t.Fatalf("attribute 7 of 3 reads as %+v", v)
	}
	ctx.SetString("country", "DE")
	ctx.bind(s)
	if v := ctx.attr(0); v == nil || v.Str() != "DE" {
		t.Fatalf("country after Set = %+v", v)
	}
}
