package evaluator

import "github.com/edgeflag/edgeflag/snapshot"

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
// Build it once per request and reuse it for every flag: the first evaluation against a
// snapshot binds the attribute names to the snapshot's attribute indexes, and later
// evaluations against the same snapshot are lookups. A Context must not be used by more
// than one goroutine at a time.
type Context struct {
	names  []string
	values []Value

	bound *snapshot.Snapshot
	index []int32 // snapshot attribute index → position in values, or -1
}

// NewContext returns an empty context.
func NewContext() *Context { return &Context{} }

// Set sets attribute name to v (the Null value removes it) and returns the context.
func (c *Context) Set(name string, v Value) *Context {
	c.bound = nil
	for i, n := range c.names {
		if n == name {
			c.values[i] = v
			return c
		}
	}
	c.names = append(c.names, name)
	c.values = append(c.values, v)
	return c
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
	for i, n := range c.names {
		if n == name {
			return c.values[i]
		}
	}
	return Value{}
}

// Reset removes every attribute, keeping the allocated space.
func (c *Context) Reset() {
	c.names, c.values, c.bound = c.names[:0], c.values[:0], nil
}

// Names returns the attribute names in the order they were first set.
func (c *Context) Names() []string { return c.names }

// bind prepares attribute lookups for snapshot s.
func (c *Context) bind(s *snapshot.Snapshot) {
	if c.bound == s {
		return
	}
	if cap(c.index) < len(s.Attributes) {
		c.index = make([]int32, len(s.Attributes))
	}
	c.index = c.index[:len(s.Attributes)]
	for i, a := range s.Attributes {
		c.index[i] = -1
		for j, n := range c.names {
			if n == a && c.values[j].kind != Null {
				c.index[i] = int32(j)
				break
			}
		}
	}
	c.bound = s
}

// attr returns the value of snapshot attribute i (after bind).
func (c *Context) attr(i int) (Value, bool) {
	if i < 0 || i >= len(c.index) {
		return Value{}, false
	}
	j := c.index[i]
	if j < 0 {
		return Value{}, false
	}
	return c.values[j], true
}
