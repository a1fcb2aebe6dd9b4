//go:build !wasip1

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

	snap *snapshot.Snapshot // to name attributes
	ctx  *Context           // to show the values a clause saw
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
	p := e.cur.Load()
	if p == nil {
		return errorResult(key, ErrGeneral, "no snapshot loaded"), tr
	}
	if reason := ctx.LimitError(); reason != "" {
		return errorResult(key, ErrInvalidContext, "context: "+reason), tr
	}
	i := p.flagIndex(key)
	if i < 0 {
		return errorResult(key, ErrFlagNotFound, "flag not found"), tr
	}
	s := p.snap
	ctx.bind(s)
	tr.snap, tr.ctx = s, ctx
	st := state{snap: s, prep: p, ctx: ctx, at: at.UnixMilli(), trace: tr}
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

// The tracer implementation: a nested trace (a prerequisite's) records into its root's
// steps, one level deeper.

func (t *Trace) steps() *[]TraceStep {
	if t.root != nil {
		return &t.root.Steps
	}
	return &t.Steps
}

func (t *Trace) open(depth int, f fact) int {
	steps := t.steps()
	*steps = append(*steps, TraceStep{Depth: depth + t.depth, Subject: t.subject(f)})
	return len(*steps) - 1
}

func (t *Trace) close(mark int, matched bool, f fact) {
	step := &(*t.steps())[mark]
	step.Matched, step.Detail = matched, t.detail(f)
}

func (t *Trace) note(depth int, matched bool, f fact) {
	steps := t.steps()
	*steps = append(*steps, TraceStep{Depth: depth + t.depth, Subject: t.subject(f), Matched: matched, Detail: t.detail(f)})
}

func (t *Trace) nested() tracer {
	root := t
	if t.root != nil {
		root = t.root
	}
	return &Trace{depth: t.depth + 1, root: root, snap: t.snap, ctx: t.ctx}
}

// subject is what a step is about: "rule internal", `email endsWith "@company.com"`...
func (t *Trace) subject(f fact) string {
	switch f.kind {
	case factDisabled, factKilled:
		return "flag"
	case factPrerequisite:
		return "prerequisite " + f.name
	case factRule:
		return "rule " + f.name
	case factRing:
		return "ring " + f.name
	case factRollout:
		return "rollout"
	case factDefault:
		return "default"
	case factSplitMissing, factSplit:
		return "split"
	case factSchedule:
		return "schedule"
	case factEveryone, factBucketMissing, factPercentage:
		return "percentage"
	case factAll:
		return "all"
	case factAny:
		return "any"
	case factNot:
		return "not"
	case factSegment:
		return "segment " + f.name
	case factClause:
		return t.describeClause(f.clause)
	}
	return ""
}

// detail is what the step found: the variant served, the bucket, the context's value...
func (t *Trace) detail(f fact) string {
	switch f.kind {
	case factDisabled:
		return "disabled: serves off variant"
	case factKilled:
		return "killed: serves off variant"
	case factPrerequisiteServed:
		if f.variant < 0 {
			return "error " + string(f.code)
		}
		return "serves " + variantName(f.flag, f.variant) + ", needs " + f.flag.Variants[f.want].Name
	case factNoMatch:
		return "condition did not match"
	case factMatchedOutside:
		return "condition matched, outside the percentage"
	case factOutside:
		return "outside the percentage"
	case factInRing:
		return "in ring; release is at ring " + f.name
	case factServes, factDefault:
		return "serves " + variantName(f.flag, f.variant)
	case factOutsideDefault:
		return "outside the percentage: serves default " + variantName(f.flag, f.variant)
	case factSplitMissing:
		return "bucketing attribute missing"
	case factSplit:
		return "bucket " + itoa(int(f.bucket)) + " < " + itoa(int(f.threshold)) + ": " + variantName(f.flag, f.variant)
	case factSchedule:
		if f.variant < 0 {
			return "before step 1 of " + itoa(f.want) + ": 0%"
		}
		return "step " + itoa(f.variant+1) + " of " + itoa(f.want) + " in force: " + percent(f.threshold)
	case factEveryone:
		return "100%"
	case factBucketMissing:
		return "bucketing attribute " + f.name + " missing"
	case factPercentage:
		return "bucket " + itoa(int(f.bucket)) + " vs threshold " + itoa(int(f.threshold)) + " (" + percent(f.threshold) + ")"
	case factClause:
		v := t.ctx.attr(f.clause.Attribute)
		if v == nil {
			return "attribute not set"
		}
		return "context has " + describeValue(*v) + mismatch(f.clause, v)
	}
	return ""
}

// mismatch says why a value cannot satisfy a clause's operator whatever its value, when
// that is so: a string compared with numbers, a text that is not a version or a time. It
// is "" when the value is of a kind the operator compares (then the values just differ).
// For a list, it speaks when no element can be compared.
func mismatch(cl *snapshot.Clause, v *Value) string {
	if cl.Op == snapshot.OpPresent {
		return ""
	}
	if v.kind == ListKind {
		if len(v.list) == 0 {
			return ": an empty list matches no value"
		}
		for i := range v.list {
			if scalarMismatch(cl, &v.list[i]) == "" {
				return ""
			}
		}
		return ": no element can match: " + strings.TrimPrefix(scalarMismatch(cl, &v.list[0]), ": ")
	}
	return scalarMismatch(cl, v)
}

func scalarMismatch(cl *snapshot.Clause, v *Value) string {
	op := cl.OpName()
	switch cl.Op.Operand() {
	case snapshot.OperandNumber:
		if v.kind != NumberKind {
			return ": " + describeValue(*v) + " is " + kindName(v.kind) + ", and " + op + " compares numbers only (a string is never converted)"
		}
	case snapshot.OperandSemver:
		if v.kind != StringKind {
			return ": " + describeValue(*v) + " is " + kindName(v.kind) + ", and " + op + " compares version strings only"
		}
		if _, ok := snapshot.ParseSemver(v.str); !ok {
			return ": " + describeValue(*v) + " is not a version (MAJOR.MINOR.PATCH, as 1.4.2 or v1.4.2)"
		}
	case snapshot.OperandString, snapshot.OperandPattern:
		if v.kind != StringKind {
			return ": " + describeValue(*v) + " is " + kindName(v.kind) + ", and " + op + " compares strings only"
		}
	case snapshot.OperandTime:
		if _, ok := timeOf(v); !ok {
			if v.kind == StringKind {
				return ": " + describeValue(*v) + " is not a time (RFC 3339, as 2026-12-01T09:00:00Z, or Unix milliseconds)"
			}
			return ": " + describeValue(*v) + " is " + kindName(v.kind) + ", not a time"
		}
	case snapshot.OperandScalar:
		want := snapshot.LitString
		switch v.kind {
		case NumberKind:
			want = snapshot.LitNumber
		case BoolKind:
			want = snapshot.LitBool
		}
		kinds := ""
		for i := range cl.Values {
			k := cl.Values[i].Kind
			if k == want {
				return ""
			}
			if kinds == "" {
				kinds = literalKindName(k)
			}
		}
		if kinds != "" {
			return ": " + describeValue(*v) + " is " + kindName(v.kind) + " and the values are " + kinds + "s: " + kindName(v.kind) + " never equals a " + kinds
		}
	}
	return ""
}

func kindName(k Kind) string {
	switch k {
	case StringKind:
		return "a string"
	case NumberKind:
		return "a number"
	case BoolKind:
		return "a boolean"
	case ListKind:
		return "a list"
	}
	return "null"
}

func literalKindName(k snapshot.LiteralKind) string {
	switch k {
	case snapshot.LitNumber:
		return "number"
	case snapshot.LitBool:
		return "boolean"
	case snapshot.LitTime:
		return "time"
	case snapshot.LitSemver:
		return "version"
	}
	return "string"
}

func (t *Trace) describeClause(cl *snapshot.Clause) string {
	var b strings.Builder
	b.WriteString(t.snap.Attributes[cl.Attribute])
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

func variantName(f *snapshot.Flag, v int) string {
	if v >= 0 && v < len(f.Variants) {
		return f.Variants[v].Name
	}
	return "?"
}

func itoa(i int) string { return strconv.Itoa(i) }

// percent formats a bucket threshold as a percentage: "5%", "0.1%".
func percent(threshold uint32) string {
	return strconv.FormatFloat(snapshot.PercentageOf(threshold), 'f', -1, 64) + "%"
}
