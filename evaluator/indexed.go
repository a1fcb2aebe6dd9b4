package evaluator

import "github.com/edgeflag/edgeflag/snapshot"

// Indexed contexts: what a host that knows the snapshot's attribute indexes (the WASM
// module's resolve path) uses to set attributes without comparing names.

// ResetIndexed empties c and binds it to snapshot s for SetIndexed, with which evaluations
// against s find attributes without comparing names. Between ResetIndexed and the
// evaluations, set attributes only with SetIndexed. It costs a store per attribute of s.
func (c *Context) ResetIndexed(s *snapshot.Snapshot) {
	bound := c.bound
	c.Reset()
	if bound == s { // bound to s already, as for every context the WASM module reads
		for i := range c.index {
			c.index[i] = unresolved
		}
		c.bound = s
	} else {
		c.bind(s)
	}
	// Room for every attribute of s, which slot relies on.
	if n := len(s.Attributes); cap(c.values) < n || cap(c.names) < n {
		c.names, c.values = make([]string, 0, n), make([]Value, 0, n)
	}
}

// SetIndexed sets attribute a of the snapshot of ResetIndexed (an index into its
// Attributes, which the caller has checked) to v. A later value of the same attribute
// replaces an earlier one; Null leaves it as it is.
func (c *Context) SetIndexed(a int, v Value) {
	if v.kind == Null {
		return
	}
	c.items += len(v.list)
	if j := c.index[a]; j >= 0 {
		c.items -= len(c.values[j].list)
		c.values[j] = v
		return
	}
	c.index[a] = int32(len(c.values))
	c.values = append(c.values, v) // its name is written when asked for (fillNames)
}

// SetIndexedString is SetIndexed(a, String(s)), and SetIndexedBool SetIndexed(a, Bool(b)),
// without a Value in between: the WASM module's decoder sets most attributes with them.
func (c *Context) SetIndexedString(a int, s string) {
	v := c.slot(a)
	v.kind, v.str, v.num, v.list = StringKind, s, 0, nil
}

// SetIndexedBool: see SetIndexedString.
func (c *Context) SetIndexedBool(a int, b bool) {
	v := c.slot(a)
	v.kind, v.str, v.num, v.list = BoolKind, "", 0, nil
	if b {
		v.num = 1
	}
}

// slot returns the Value of attribute a to overwrite with a scalar: the one it has, or a
// new one. A new one needs no append: ResetIndexed made room for every attribute; its name
// is written when asked for (fillNames), as the evaluation finds it by index.
func (c *Context) slot(a int) *Value {
	if j := c.index[a]; j >= 0 {
		v := &c.values[j]
		c.items -= len(v.list)
		return v
	}
	j := len(c.values)
	c.index[a] = int32(j)
	c.values = c.values[:j+1] // what it held is overwritten whole
	return &c.values[j]
}

// fillNames writes the names of the attributes set with SetIndexed, which leaves them out:
// c.names then holds the name of every value again.
func (c *Context) fillNames() {
	if len(c.names) != len(c.values) { // inlined: a comparison where nothing is missing
		c.writeNames()
	}
}

func (c *Context) writeNames() {
	if cap(c.names) < len(c.values) {
		c.names = append(make([]string, 0, len(c.values)), c.names...)
	}
	c.names = c.names[:len(c.values)]
	for a, j := range c.index {
		if j >= 0 {
			c.names[j] = c.bound.Attributes[a]
		}
	}
}
