package evaluator

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/snapshot"
)

// cond evaluates a condition tree. depth is the trace indentation.
func (st *state) cond(c *snapshot.Condition, depth int) bool {
	switch c.Kind {
	case snapshot.CondAll, snapshot.CondAny:
		mark := st.open(depth, kindName(c.Kind))
		want := c.Kind == snapshot.CondAny
		for i := range c.Children {
			if st.cond(&c.Children[i], depth+1) == want {
				st.close(mark, want, "")
				return want
			}
		}
		st.close(mark, !want, "")
		return !want
	case snapshot.CondNot:
		mark := st.open(depth, "not")
		m := !st.cond(&c.Children[0], depth+1)
		st.close(mark, m, "")
		return m
	case snapshot.CondSegment:
		mark := -1
		if st.trace != nil {
			mark = st.open(depth, "segment "+st.snap.Segments[c.Segment].Key)
		}
		m := st.cond(&st.snap.Segments[c.Segment].When, depth+1)
		if m {
			st.segment = c.Segment
		}
		st.close(mark, m, "")
		return m
	case snapshot.CondPercentage:
		return st.portion(st.current, &c.Portion, depth)
	case snapshot.CondClause:
		m := st.clause(&c.Clause)
		if st.trace != nil {
			st.note(depth, st.describeClause(&c.Clause), m, st.describeActual(&c.Clause))
		}
		return m
	}
	return false
}

func kindName(k snapshot.CondKind) string {
	if k == snapshot.CondAny {
		return "any"
	}
	return "all"
}

// clause evaluates one clause. A missing attribute matches nothing but absent.
func (st *state) clause(cl *snapshot.Clause) bool {
	v, ok := st.ctx.attr(cl.Attribute)
	if !ok {
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
		m = st.match(cl, &v)
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
		for _, lit := range cl.Values {
			if matchString(cl.Op, cl.IgnoreCase, v.str, lit.Str) {
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
		for _, lit := range cl.Values {
			if compareNumbers(cl.Op, v.num, lit.Num) {
				return true
			}
		}
	case snapshot.OpSemverEq, snapshot.OpSemverLt, snapshot.OpSemverLte, snapshot.OpSemverGt, snapshot.OpSemverGte:
		if v.kind != StringKind {
			return false
		}
		sv, ok := snapshot.ParseSemver(v.str)
		if !ok {
			return false
		}
		for _, lit := range cl.Semvers {
			c := sv.Compare(lit)
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
		for _, lit := range cl.Values {
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
		vals := cl.Values
		if len(vals) <= 8 {
			for _, lit := range vals {
				if lit.Kind == snapshot.LitString && (lit.Str == v.str || cl.IgnoreCase && strings.EqualFold(lit.Str, v.str)) {
					return true
				}
			}
			return false
		}
		key := v.str
		if cl.IgnoreCase && !isASCII(key) {
			key = strings.ToLower(key)
		}
		fold := cl.IgnoreCase
		lo, hi := 0, len(vals)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			lit := vals[m]
			if lit.Kind < snapshot.LitString || lit.Kind == snapshot.LitString && compareLower(key, lit.Str, fold) > 0 {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo < len(vals) && vals[lo].Kind == snapshot.LitString && compareLower(key, vals[lo].Str, fold) == 0
	case NumberKind:
		for _, lit := range cl.Values {
			if lit.Kind == snapshot.LitNumber && lit.Num == v.num {
				return true
			}
		}
	case BoolKind:
		for _, lit := range cl.Values {
			if lit.Kind == snapshot.LitBool && lit.Num == v.num {
				return true
			}
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// compareLower compares a with b, lower-casing a's ASCII letters on the fly when fold is
// set (b, a compiled literal, is already lower-case). It does not allocate.
func compareLower(a, b string, fold bool) int {
	if !fold {
		return strings.Compare(a, b)
	}
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != b[i] {
			if c < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func matchString(op snapshot.Op, fold bool, s, lit string) bool {
	if !fold {
		switch op {
		case snapshot.OpStartsWith:
			return strings.HasPrefix(s, lit)
		case snapshot.OpEndsWith:
			return strings.HasSuffix(s, lit)
		}
		return strings.Contains(s, lit)
	}
	n := len(lit)
	switch op {
	case snapshot.OpStartsWith:
		return len(s) >= n && strings.EqualFold(s[:n], lit)
	case snapshot.OpEndsWith:
		return len(s) >= n && strings.EqualFold(s[len(s)-n:], lit)
	}
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], lit) {
			return true
		}
	}
	return false
}

// timeOf reads a time attribute: Unix milliseconds, or an RFC 3339 / date string.
func timeOf(v *Value) (int64, bool) {
	switch v.kind {
	case NumberKind:
		return int64(v.num), true
	case StringKind:
		layout := time.RFC3339Nano
		if len(v.str) == len("2006-01-02") {
			layout = time.DateOnly
		}
		t, err := time.Parse(layout, v.str)
		if err != nil {
			return 0, false
		}
		return t.UnixMilli(), true
	}
	return 0, false
}

// appendNumber formats a number as its shortest decimal form (42, 1.5, 1e+21).
func appendNumber(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func itoa(i int) string { return strconv.Itoa(i) }

// percent formats a bucket threshold as a percentage: "5%", "0.1%".
func percent(threshold uint32) string {
	return strconv.FormatFloat(snapshot.PercentageOf(threshold), 'f', -1, 64) + "%"
}
