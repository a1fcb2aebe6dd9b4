package evaluator

import "github.com/edgeflag/edgeflag/snapshot"

// Indexed contexts: what a host that knows the snapshot's attribute indexes (the WASM
// module's resolve path) uses to set attributes without comparing names.

// ResetIndexed empties c and binds it to snapshot s for SetIndexed, with which evaluations
// against s find attributes without comparing names. Between ResetIndexed and the
// evaluations, set attributes only with SetIndexed. It costs a store per attribute of s.
func (c *Context) ResetIndexed(s *snapshot.Snapshot) {
	c.Reset()
	c.bind(s)
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
	c.names = append(c.names, c.bound.Attributes[a])
	c.values = append(c.values, v)
}
