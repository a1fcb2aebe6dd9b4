package evaluator

import (
	"iter"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Kind is the type of a context Value.
type Kind uint8

// Value kinds. The zero Value is Null: an absent attribute.
const (
	Null Kind = iota
	StringKind
	NumberKind
	BoolKind
	ListKind
)

// Value is a context attribute value: a string, a number, a bool or a list of those.
type Value struct {
	kind Kind
	str  string
	num  float64
	list []Value
}

// String returns a string Value.
func String(s string) Value { return Value{kind: StringKind, str: s} }

// Number returns a number Value.
func Number(f float64) Value { return Value{kind: NumberKind, num: f} }

// Bool returns a bool Value.
func Bool(b bool) Value {
	v := Value{kind: BoolKind}
	if b {
		v.num = 1
	}
	return v
}

// List returns a list Value. Nested lists are not matched by any operator.
func List(values ...Value) Value { return Value{kind: ListKind, list: values} }

// Strings returns a list Value of strings.
func Strings(ss ...string) Value {
	l := make([]Value, len(ss))
	for i, s := range ss {
		l[i] = String(s)
	}
	return Value{kind: ListKind, list: l}
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// Str returns the string of a StringKind value.
func (v Value) Str() string { return v.str }

// Num returns the number of a NumberKind value.
func (v Value) Num() float64 { return v.num }

// Truth returns the bool of a BoolKind value.
func (v Value) Truth() bool { return v.num != 0 }

// Items returns the elements of a ListKind value.
func (v Value) Items() []Value { return v.list }

// Context holds the attributes of the user or request being evaluated.
//
// Build it once per request and reuse it for every flag: attribute names are resolved to
// the snapshot's attribute indexes the first time a flag reads them, and later reads are
// lookups. A Context must not be used by more than one goroutine at a time, and values
// given to it (lists included) must not change afterwards except through Set.
type Context struct {
	names  []string
	values []Value
	// pos maps names[:len(pos)] to their positions once the context has more than
	// linearNames attributes, so that Set and Get cost O(1) however many there are.
	pos map[string]int32
	// items counts the list items of all values, nulls the Null values.
	items, nulls int

	bound *snapshot.Snapshot
	index []int32 // snapshot attribute index → position in values, absent or unresolved
}

// Entries of Context.index besides positions.
const (
	absent     = -1
	unresolved = -2
)

// Limits of a context. The WASM module refuses a larger context (package protocol uses
// these constants), every host refuses it while reading it (protocol.Parser for JSON,
// protocol.ParseValues for Go values), and the
// native evaluator answers INVALID_CONTEXT for it, so a context over a limit gets the same
// answer everywhere.
const (
	MaxContextAttributes = 1024     // attributes of one context
	MaxContextListItems  = 4096     // items of all lists of one context together
	MaxContextSize       = 64 << 10 // bytes of an encoded context (JSON or binary)
)

// linearNames is the number of attributes up to which names are searched linearly: for a
// few names a scan is cheaper than hashing.
const linearNames = 8

// NewContext returns an empty context.
func NewContext() *Context { return &Context{} }

// Set sets attribute name to v (the Null value removes it) and returns the context.
// It costs O(1) amortised, whatever the number of attributes.
func (c *Context) Set(name string, v Value) *Context {
	c.fillNames()
	c.bound = nil
	c.items += len(v.list)
	if v.kind == Null {
		c.nulls++
	}
	if i := c.find(name); i >= 0 {
		c.items -= len(c.values[i].list)
		if c.values[i].kind == Null {
			c.nulls--
		}
		c.values[i] = v
		return c
	}
	c.names = append(c.names, name)
	c.values = append(c.values, v)
	return c
}

// find returns the position of name in c.names, or -1.
func (c *Context) find(name string) int {
	if len(c.names) <= linearNames {
		for i, n := range c.names {
			if n == name {
				return i
			}
		}
		return -1
	}
	if c.pos == nil {
		c.pos = make(map[string]int32, 2*len(c.names))
	}
	// Names are unique and only ever appended, so pos holds names[:len(pos)].
	for i := len(c.pos); i < len(c.names); i++ {
		c.pos[c.names[i]] = int32(i)
	}
	if i, ok := c.pos[name]; ok {
		return int(i)
	}
	return -1
}

// SetString sets a string attribute.
func (c *Context) SetString(name, value string) *Context { return c.Set(name, String(value)) }

// SetNumber sets a number attribute.
func (c *Context) SetNumber(name string, value float64) *Context {
	return c.Set(name, Number(value))
}

// SetBool sets a bool attribute.
func (c *Context) SetBool(name string, value bool) *Context { return c.Set(name, Bool(value)) }

// Get returns the attribute's value, Null when absent.
func (c *Context) Get(name string) Value {
	c.fillNames()
	if i := c.find(name); i >= 0 {
		return c.values[i]
	}
	return Value{}
}

// Reset removes every attribute, keeping the allocated space.
func (c *Context) Reset() {
	c.names, c.values, c.bound, c.items, c.nulls = c.names[:0], c.values[:0], nil, 0, 0
	if len(c.pos) > 0 {
		clear(c.pos)
	}
}

// Len returns the number of attributes set, those set to Null left out.
func (c *Context) Len() int { return len(c.values) - c.nulls }

// ListItems returns the number of items of all list attributes together.
func (c *Context) ListItems() int { return c.items }

// LimitError returns the reason the context is over one of its limits
// (MaxContextAttributes, MaxContextListItems), or "" when it is within them.
func (c *Context) LimitError() string {
	switch {
	case c.Len() > MaxContextAttributes:
		return "more than 1024 attributes"
	case c.items > MaxContextListItems:
		return "more than 4096 list items"
	}
	return ""
}

// Names returns the attribute names in the order they were first set.
func (c *Context) Names() []string {
	c.fillNames()
	return c.names
}

// All returns the attributes, names and values, in the order of Names.
func (c *Context) All() iter.Seq2[string, Value] {
	c.fillNames()
	return func(yield func(string, Value) bool) {
		for i, name := range c.names {
			if !yield(name, c.values[i]) {
				return
			}
		}
	}
}

// bind prepares attribute lookups for snapshot s: every attribute is unresolved until a
// flag reads it, so a context of many attributes costs little when few are read.
func (c *Context) bind(s *snapshot.Snapshot) {
	if c.bound != s { // inlined: a context bound already costs a comparison
		c.rebind(s)
	}
}

func (c *Context) rebind(s *snapshot.Snapshot) {
	if c.bound != nil {
		c.fillNames() // before the indexes of the other snapshot go
	}
	if cap(c.index) < len(s.Attributes) {
		c.index = make([]int32, len(s.Attributes))
	}
	c.index = c.index[:len(s.Attributes)]
	for i := range c.index {
		c.index[i] = unresolved
	}
	c.bound = s
}

// attr returns the value of snapshot attribute i (after bind), nil when the context does
// not have it.
func (c *Context) attr(i int) *Value {
	if uint(i) >= uint(len(c.index)) {
		return nil
	}
	j := c.index[i]
	if j == unresolved {
		j = c.resolve(i)
	}
	if j < 0 {
		return nil
	}
	return &c.values[j]
}

// resolve finds snapshot attribute i among the context's names.
func (c *Context) resolve(i int) int32 {
	j := int32(absent)
	if k := c.find(c.bound.Attributes[i]); k >= 0 && c.values[k].kind != Null {
		j = int32(k)
	}
	c.index[i] = j
	return j
}
