package evaluator

import (
	"unsafe"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Indexed contexts and flags: what a host that knows the snapshot's attribute and flag
// indexes (the WASM module's resolve path) uses to skip comparing names and hashing keys.

// ResetIndexed empties c and binds it to snapshot s for SetIndexed, with which evaluations
// against s find attributes without comparing names. Between ResetIndexed and the
// evaluations, set attributes only with SetIndexed.
func (c *Context) ResetIndexed(s *snapshot.Snapshot) {
	if c.bound == s && c.setLast(s) {
		// Every entry that points into values is one of c.set (the names are theirs, and
		// attribute names are unique); the others are unresolved or absent, which stays
		// true of an attribute not set now.
		for _, a := range c.set {
			c.index[a] = unresolved
		}
		c.names, c.values, c.items, c.nulls = c.names[:0], c.values[:0], 0, 0
		if len(c.pos) > 0 {
			clear(c.pos)
		}
	} else {
		c.Reset()
		c.bind(s)
	}
	c.set = c.set[:0]
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
	c.set = append(c.set, int32(a))
	c.names = append(c.names, c.bound.Attributes[a])
	c.values = append(c.values, v)
}

// DecideAt evaluates flag i of snapshot s, which must be the one in use (it returns -1
// otherwise), for ctx at atMillis (Unix milliseconds), and returns the index of the
// variant served and the reason, or -1 and the error code of an error result.
func (e *Evaluator) DecideAt(s *snapshot.Snapshot, i int, ctx *Context, atMillis int64) (variant int, reason Reason, code ErrorCode) {
	p := e.cur.Load()
	switch {
	case p == nil || p.snap != s || i < 0 || i >= len(s.Flags):
		return -1, ReasonError, ErrGeneral
	case ctx.LimitError() != "":
		return -1, ReasonError, ErrInvalidContext
	}
	st := state{snap: s, prep: p, ctx: ctx, at: atMillis}
	ctx.bind(s)
	var r Result
	v := st.decide(&s.Flags[i], &r)
	if v < 0 {
		return -1, ReasonError, r.Error
	}
	return v, r.Reason, ""
}

// setLast reports whether c's names are still, one for one, the names of s's attributes
// c.set (the very strings: Set and Reset since the last ResetIndexed leave them otherwise,
// unless they set the same names in the same order, which binds the same way).
func (c *Context) setLast(s *snapshot.Snapshot) bool {
	if len(c.names) != len(c.set) || len(c.index) != len(s.Attributes) {
		return false
	}
	for k, a := range c.set {
		name := s.Attributes[a]
		if len(c.names[k]) != len(name) || unsafe.StringData(c.names[k]) != unsafe.StringData(name) {
			return false
		}
	}
	return true
}
