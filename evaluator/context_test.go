package evaluator

import (
	"strings"
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

// TestIndexedContextNames checks that the names SetIndexed leaves out are there when asked
// for: by Names, All, Get and Len, before Set adds a name, and after a rebinding to another
// snapshot.
func TestIndexedContextNames(t *testing.T) {
	s := &snapshot.Snapshot{Attributes: []string{"country", "email", "userId"}}
	other := &snapshot.Snapshot{Attributes: []string{"plan"}}
	for _, tt := range []struct {
		name  string
		after func(c *Context)
		want  string
	}{
		{"names", func(*Context) {}, "userId=s:u1 country=true email=[s:a]"},
		{"set", func(c *Context) { c.SetString("plan", "pro") }, "userId=s:u1 country=true email=[s:a] plan=s:pro"},
		{"rebound", func(c *Context) { c.bind(other) }, "userId=s:u1 country=true email=[s:a]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewContext()
			c.ResetIndexed(s)
			c.SetIndexedString(2, "u1")
			c.SetIndexedBool(0, true)
			c.SetIndexed(1, Strings("a"))
			tt.after(c)
			var got []string
			for name, v := range c.All() {
				got = append(got, name+"="+showValue(v))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("All: %s, want %s", g, tt.want)
			}
			if len(c.Names()) != c.Len() || c.Len() != len(got) {
				t.Errorf("Names %q, Len %d, want %d", c.Names(), c.Len(), len(got))
			}
			if v := c.Get("userId"); v.Str() != "u1" {
				t.Errorf("Get(userId) = %q", v.Str())
			}
		})
	}
}

func showValue(v Value) string {
	switch v.Kind() {
	case StringKind:
		return "s:" + v.Str()
	case BoolKind:
		if v.Truth() {
			return "true"
		}
		return "false"
	case ListKind:
		var items []string
		for _, x := range v.Items() {
			items = append(items, showValue(x))
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	return "?"
}

// TestIndexedContextListItems checks that the list items of an indexed context count its
// own lists only: a scalar set where an earlier context had a list, or replacing a list.
func TestIndexedContextListItems(t *testing.T) {
	s := &snapshot.Snapshot{Attributes: []string{"groups", "userId"}}
	c := NewContext()
	c.ResetIndexed(s)
	c.SetIndexed(0, Strings("a", "b", "c"))
	if c.ListItems() != 3 {
		t.Fatalf("ListItems %d, want 3", c.ListItems())
	}
	c.SetIndexedString(0, "x") // replaces the list
	if c.ListItems() != 0 {
		t.Errorf("after a string replaced the list: ListItems %d, want 0", c.ListItems())
	}
	c.ResetIndexed(s)
	c.SetIndexed(0, Strings("a", "b"))
	c.ResetIndexed(s)
	c.SetIndexedBool(1, true) // where the last context had its list
	c.SetIndexedString(0, "y")
	if c.ListItems() != 0 {
		t.Errorf("a new context: ListItems %d, want 0", c.ListItems())
	}
}
