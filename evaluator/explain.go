package evaluator

import (
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Trace is the decision path of one evaluation, for `edgeflag explain`: every rule, ring,
// segment, condition, percentage and prerequisite looked at, in order, with whether it
// matched.
type Trace struct {
	Steps []TraceStep
	depth int
	root  *Trace // where a nested trace records its steps
}

// TraceStep is one line of a Trace.
type TraceStep struct {
	Depth   int    // nesting: conditions inside a rule are deeper than the rule
	Subject string // "rule internal", "ring canary", `email endsWith "@company.com"`, "percentage"...
	Matched bool
	Detail  string // the context's value, the bucket and threshold, the schedule step...
}

// Explain evaluates flag key like Evaluate and also returns the decision path.
func (e *Evaluator) Explain(key string, ctx *Context, at time.Time) (Result, *Trace) {
	tr := &Trace{}
	s := e.snap.Load()
	if s == nil {
		return errorResult(key, ErrGeneral, "no snapshot loaded"), tr
	}
	i := s.FlagIndex(key)
	if i < 0 {
		return errorResult(key, ErrFlagNotFound, "flag not found"), tr
	}
	ctx.bind(s)
	st := state{snap: s, ctx: ctx, at: at.UnixMilli(), trace: tr}
	return st.flag(i), tr
}

// String renders the trace as indented lines with ✓ and ✗ marks.
func (t *Trace) String() string {
	var b strings.Builder
	for _, s := range t.Steps {
		b.WriteString(strings.Repeat("  ", s.Depth))
		if s.Matched {
			b.WriteString("✓ ")
		} else {
			b.WriteString("✗ ")
		}
		b.WriteString(s.Subject)
		if s.Detail != "" {
			b.WriteString(": ")
			b.WriteString(s.Detail)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// indent returns a trace that records one level deeper into the same steps (for
// prerequisites), or nil when not tracing.
func (t *Trace) indent() *Trace {
	if t == nil {
		return nil
	}
	root := t
	if t.root != nil {
		root = t.root
	}
	return &Trace{depth: t.depth + 1, root: root}
}

// open records a step whose outcome is not known yet, so that a rule or a group reads
// before its conditions; close fills it in. open returns -1 when not tracing.
func (st *state) open(depth int, subject string) int {
	t := st.trace
	if t == nil {
		return -1
	}
	root := t
	if t.root != nil {
		root = t.root
	}
	root.Steps = append(root.Steps, TraceStep{Depth: depth + t.depth, Subject: subject})
	return len(root.Steps) - 1
}

func (st *state) close(mark int, matched bool, detail string) {
	if mark < 0 {
		return
	}
	root := st.trace
	if root.root != nil {
		root = root.root
	}
	root.Steps[mark].Matched, root.Steps[mark].Detail = matched, detail
}

func (st *state) note(depth int, subject string, matched bool, detail string) {
	t := st.trace
	if t == nil {
		return
	}
	step := TraceStep{Depth: depth + t.depth, Subject: subject, Matched: matched, Detail: detail}
	if t.root != nil {
		t.root.Steps = append(t.root.Steps, step)
		return
	}
	t.Steps = append(t.Steps, step)
}

func (st *state) describeClause(cl *snapshot.Clause) string {
	var b strings.Builder
	b.WriteString(st.snap.Attributes[cl.Attribute])
	b.WriteByte(' ')
	b.WriteString(cl.OpName())
	for i, v := range cl.Values {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(describeLiteral(v, cl.Relative))
	}
	if cl.IgnoreCase {
		b.WriteString(" (ignoreCase)")
	}
	return b.String()
}

func describeLiteral(v snapshot.Literal, relative bool) string {
	switch v.Kind {
	case snapshot.LitString:
		return strconv.Quote(v.Str)
	case snapshot.LitSemver:
		return v.Str
	case snapshot.LitBool:
		return strconv.FormatBool(v.Num != 0)
	case snapshot.LitTime:
		if relative {
			d := time.Duration(int64(v.Num)) * time.Millisecond
			if d < 0 {
				return "now-" + (-d).String()
			}
			return "now+" + d.String()
		}
		return time.UnixMilli(int64(v.Num)).UTC().Format(time.RFC3339)
	}
	return strconv.FormatFloat(v.Num, 'g', -1, 64)
}

func (st *state) describeActual(cl *snapshot.Clause) string {
	v, ok := st.ctx.attr(cl.Attribute)
	if !ok {
		return "attribute not set"
	}
	return "context has " + describeValue(v)
}

func describeValue(v Value) string {
	switch v.kind {
	case StringKind:
		return strconv.Quote(v.str)
	case NumberKind:
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	case BoolKind:
		return strconv.FormatBool(v.num != 0)
	case ListKind:
		parts := make([]string, len(v.list))
		for i, x := range v.list {
			parts[i] = describeValue(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "null"
}
