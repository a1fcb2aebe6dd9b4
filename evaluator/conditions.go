package evaluator

import (
	"strconv"

	"github.com/edgeflag/edgeflag/snapshot"
)

// cond evaluates a condition tree. depth is the trace indentation.
func (st *state) cond(c *snapshot.Condition, depth int) bool {
	switch c.Kind {
	case snapshot.CondAll, snapshot.CondAny:
		want := c.Kind == snapshot.CondAny
		mark := -1
		if st.tracing() {
			k := factAll
			if want {
				k = factAny
			}
			mark = st.trace.open(depth, fact{kind: k})
		}
		for i := range c.Children {
			if st.cond(&c.Children[i], depth+1) == want {
				st.close(mark, want, factNone)
				return want
			}
		}
		st.close(mark, !want, factNone)
		return !want
	case snapshot.CondNot:
		mark := st.open(depth, fact{kind: factNot})
		m := !st.cond(&c.Children[0], depth+1)
		st.close(mark, m, factNone)
		return m
	case snapshot.CondSegment:
		mark := -1
		if st.tracing() {
			mark = st.trace.open(depth, fact{kind: factSegment, name: st.snap.Segments[c.Segment].Key})
		}
		m := st.cond(&st.snap.Segments[c.Segment].When, depth+1)
		if m {
			st.segment = c.Segment
		}
		st.close(mark, m, factNone)
		return m
	case snapshot.CondPercentage:
		return st.portion(st.current, &c.Portion, depth)
	case snapshot.CondClause:
		m := st.clause(&c.Clause)
		if st.tracing() {
			st.trace.note(depth, m, fact{kind: factClause, clause: &c.Clause})
		}
		return m
	}
	return false
}

// clause evaluates one clause. A missing attribute matches nothing but absent.
func (st *state) clause(cl *snapshot.Clause) bool {
	v := st.ctx.attr(cl.Attribute)
	if v == nil {
		return cl.Op == snapshot.OpPresent && cl.Negate
	}
	if cl.Op == snapshot.OpPresent {
		return !cl.Negate
	}
	var m bool
	if v.kind == ListKind {
		for i := range v.list {
			if st.match(cl, &v.list[i]) {
				m = true
				break
			}
		}
	} else {
		m = st.match(cl, v)
	}
	return m != cl.Negate
}

// match applies the (positive) operator to one scalar value.
func (st *state) match(cl *snapshot.Clause, v *Value) bool {
	switch cl.Op {
	case snapshot.OpIn:
		return matchIn(cl, v)
	case snapshot.OpStartsWith, snapshot.OpEndsWith, snapshot.OpContains:
		if v.kind != StringKind {
			return false
		}
		sop := stringOpOf(cl.Op)
		for i := range cl.Values {
			lit := cl.Values[i].Str
			if cl.IgnoreCase && matchLower(sop, v.str, lit) || !cl.IgnoreCase && matchExact(sop, v.str, lit) {
				return true
			}
		}
	case snapshot.OpMatches:
		if v.kind != StringKind {
			return false
		}
		for _, re := range cl.Regexps {
			if re.MatchString(v.str) {
				return true
			}
		}
	case snapshot.OpLt, snapshot.OpLte, snapshot.OpGt, snapshot.OpGte:
		if v.kind != NumberKind {
			return false
		}
		for i := range cl.Values {
			lit := &cl.Values[i]
			if compareNumbers(cl.Op, v.num, lit.Num) {
				return true
			}
		}
	case snapshot.OpSemverEq, snapshot.OpSemverLt, snapshot.OpSemverLte, snapshot.OpSemverGt, snapshot.OpSemverGte:
		if v.kind != StringKind {
			return false
		}
		sv := &st.semver
		if !sv.Parse(v.str) {
			return false
		}
		for i := range cl.Semvers {
			c := snapshot.CompareSemvers(sv, &cl.Semvers[i])
			switch cl.Op {
			case snapshot.OpSemverEq:
				if c == 0 {
					return true
				}
			case snapshot.OpSemverLt:
				if c < 0 {
					return true
				}
			case snapshot.OpSemverLte:
				if c <= 0 {
					return true
				}
			case snapshot.OpSemverGt:
				if c > 0 {
					return true
				}
			case snapshot.OpSemverGte:
				if c >= 0 {
					return true
				}
			}
		}
	case snapshot.OpBefore, snapshot.OpAfter:
		t, ok := timeOf(v)
		if !ok {
			return false
		}
		for i := range cl.Values {
			lit := &cl.Values[i]
			ref := int64(lit.Num)
			if cl.Relative {
				ref += st.at
			}
			if cl.Op == snapshot.OpBefore && t < ref || cl.Op == snapshot.OpAfter && t > ref {
				return true
			}
		}
	}
	return false
}

func compareNumbers(op snapshot.Op, a, b float64) bool {
	switch op {
	case snapshot.OpLt:
		return a < b
	case snapshot.OpLte:
		return a <= b
	case snapshot.OpGt:
		return a > b
	}
	return a >= b
}

// matchIn tests set membership. String sets are sorted (lower-cased under IgnoreCase).
func matchIn(cl *snapshot.Clause, v *Value) bool {
	switch v.kind {
	case StringKind:
		s, fold := v.str, cl.IgnoreCase
		var buf [lowerBuffer]byte
		if fold {
			// An ASCII value lower-cased once compares with the literals as it is.
			if low, ok := lowerASCII(&buf, s); ok {
				s, fold = low, false
			}
		}
		vals := cl.Values
		if len(vals) <= 8 {
			for i := range vals {
				lit := &vals[i]
				if lit.Kind == snapshot.LitString && (lit.Str == s || fold && compareLower(s, lit.Str) == 0) {
					return true
				}
			}
			return false
		}
		lo, hi := 0, len(vals)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			lit := &vals[m]
			if lit.Kind < snapshot.LitString || lit.Kind == snapshot.LitString && compareFold(s, lit.Str, fold) > 0 {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo < len(vals) && vals[lo].Kind == snapshot.LitString && compareFold(s, vals[lo].Str, fold) == 0
	case NumberKind:
		for i := range cl.Values {
			lit := &cl.Values[i]
			if lit.Kind == snapshot.LitNumber && lit.Num == v.num {
				return true
			}
		}
	case BoolKind:
		for i := range cl.Values {
			lit := &cl.Values[i]
			if lit.Kind == snapshot.LitBool && lit.Num == v.num {
				return true
			}
		}
	}
	return false
}

// compareFold compares s with lit, lower-casing s first when fold is set.
func compareFold(s, lit string, fold bool) int {
	switch {
	case fold:
		return compareLower(s, lit)
	case s < lit:
		return -1
	case s > lit:
		return 1
	}
	return 0
}

// stringOpOf returns the substring operator of op (startsWith, endsWith or contains).
func stringOpOf(op snapshot.Op) stringOp {
	switch op {
	case snapshot.OpStartsWith:
		return opPrefix
	case snapshot.OpEndsWith:
		return opSuffix
	}
	return opContains
}

// timeOf reads a time attribute: Unix milliseconds, or an RFC 3339 / date string. Numbers
// beyond the range of int64 are clamped to it explicitly: the conversion of such floats
// is not the same on every architecture (amd64 gives math.MinInt64 for 1e30, WASM
// saturates), and the answer must be.
func timeOf(v *Value) (int64, bool) {
	switch v.kind {
	case NumberKind:
		switch {
		case v.num != v.num: // NaN
			return 0, false
		case v.num >= 1<<63:
			return 1<<63 - 1, true
		case v.num <= -1<<63:
			return -1 << 63, true
		}
		return int64(v.num), true
	case StringKind:
		return parseTime(v.str)
	}
	return 0, false
}

// appendNumber formats a number as its shortest decimal form (42, 1.5, 1e+21).
func appendNumber(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
