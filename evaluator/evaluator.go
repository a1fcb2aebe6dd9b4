// Package evaluator answers "what does this context get for flag X?" from a compiled
// snapshot. It is the one implementation of the evaluation semantics: the native Go hosts
// use it directly and the WASM edge module is built from it.
//
// Evaluation never parses: snapshot.Decode has already validated and prepared everything,
// and New or Swap index the flag keys and write, once per snapshot, the part of the
// result JSON that depends only on the flag and the variant served. With a reused
// Context, evaluating a flag does not allocate. The time of evaluation is an input, never
// a clock read, so schedules are reproducible. AppendResultJSON and AppendAllJSON write
// results straight to JSON: the edge hosts' path.
//
// The package builds for GOOS=wasip1 and avoids fmt, reflection and encoding/json. Under
// GOOS=wasip1 it does not import package time either, whose initialization alone costs the
// WASM module about 64 KB gzip: the methods that take a time.Time (Evaluate, EvaluateAs,
// EvaluateAll, Explain) are left out there, and the module uses EvaluateAt and
// EvaluateAllAt, which take Unix milliseconds.
package evaluator

import (
	"sync/atomic"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Evaluator evaluates flags against the snapshot it holds. It is safe for concurrent use;
// Swap replaces the snapshot atomically while evaluations run.
type Evaluator struct {
	cur atomic.Pointer[prepared]
}

// New returns an evaluator for s, which must come from snapshot.Decode or the compiler
// (nil: every evaluation reports a GENERAL error until Swap).
func New(s *snapshot.Snapshot) *Evaluator {
	e := &Evaluator{}
	e.cur.Store(prepare(s))
	return e
}

// Load decodes and verifies an encoded snapshot and returns an evaluator for it.
func Load(data []byte) (*Evaluator, error) {
	s, err := snapshot.Decode(data)
	if err != nil {
		return nil, err
	}
	return New(s), nil
}

// Swap installs s and returns the snapshot it replaces.
func (e *Evaluator) Swap(s *snapshot.Snapshot) *snapshot.Snapshot {
	if old := e.cur.Swap(prepare(s)); old != nil {
		return old.snap
	}
	return nil
}

// Snapshot returns the snapshot in use.
func (e *Evaluator) Snapshot() *snapshot.Snapshot {
	if p := e.cur.Load(); p != nil {
		return p.snap
	}
	return nil
}

// EvaluateAt evaluates flag key for ctx at atMillis, the time of evaluation in Unix
// milliseconds. It is Evaluate for callers that keep time as a number.
func (e *Evaluator) EvaluateAt(key string, ctx *Context, atMillis int64) Result {
	p := e.cur.Load()
	if p == nil {
		return errorResult(key, ErrGeneral, "no snapshot loaded")
	}
	if reason := ctx.LimitError(); reason != "" {
		return errorResult(key, ErrInvalidContext, "context: "+reason)
	}
	i := p.flagIndex(key)
	if i < 0 {
		return errorResult(key, ErrFlagNotFound, "flag not found")
	}
	st := state{snap: p.snap, prep: p, ctx: ctx, at: atMillis}
	ctx.bind(p.snap)
	return st.flag(i)
}

// VariantAt evaluates flag i of s.Flags for ctx at atMillis (Unix milliseconds) and returns
// the index of the variant served in s.Flags[i].Variants and the reason: EvaluateAt's
// answer, for hosts that know the flag's index and need no more. s must be the snapshot in
// use (Snapshot); for anything else, and for every error result, it returns -1 and
// ReasonError.
func (e *Evaluator) VariantAt(s *snapshot.Snapshot, i int, ctx *Context, atMillis int64) (int, Reason) {
	p := e.cur.Load()
	if p == nil || p.snap != s || uint(i) >= uint(len(s.Flags)) || ctx.LimitError() != "" {
		return -1, ReasonError
	}
	st := state{snap: s, prep: p, ctx: ctx, at: atMillis}
	ctx.bind(s)
	var r Result
	v := st.flagInto(i, &r)
	if r.Reason == ReasonError {
		v = -1
	}
	return v, r.Reason
}

// EvaluateAllAt evaluates every flag, in key order, at atMillis (Unix milliseconds),
// appending the results to dst. A context over one of its limits gives every flag an
// INVALID_CONTEXT result.
func (e *Evaluator) EvaluateAllAt(ctx *Context, atMillis int64, dst []Result) []Result {
	p := e.cur.Load()
	if p == nil {
		return dst
	}
	if reason := ctx.LimitError(); reason != "" {
		for i := range p.snap.Flags {
			r := errorResult(p.snap.Flags[i].Key, ErrInvalidContext, "context: "+reason)
			r.Type = p.snap.Flags[i].Type
			dst = append(dst, r)
		}
		return dst
	}
	st := state{snap: p.snap, prep: p, ctx: ctx, at: atMillis}
	ctx.bind(p.snap)
	for i := range p.snap.Flags {
		dst = append(dst, st.flag(i))
	}
	return dst
}

func errorResult(key string, code ErrorCode, msg string) Result {
	return Result{Key: key, Reason: ReasonError, Error: code, Message: msg,
		Decision: Decision{Index: -1, Step: -1}}
}

// state is one evaluation's working set.
type state struct {
	snap  *snapshot.Snapshot
	prep  *prepared
	ctx   *Context
	at    int64  // Unix milliseconds
	trace tracer // nil unless explaining

	current  *snapshot.Flag // the flag being decided
	segment  int            // last segment found to match, or -1
	bucketed bool
	bucket   uint32
	bound    uint32
	step     int

	semver snapshot.Semver // the value match parses, kept here rather than copied

	_ [0]func() // not comparable: no equality function in the WASM module
}

func (st *state) flag(i int) Result {
	var r Result
	st.flagInto(i, &r)
	return r
}

// flagInto decides flag i into r, which must be zero, and returns the variant served, or
// -1 on error.
func (st *state) flagInto(i int, r *Result) int {
	f := &st.snap.Flags[i]
	v := st.decide(f, r)
	r.Key, r.Type = f.Key, f.Type
	if v < 0 {
		r.Decision = Decision{Kind: DecidedByError, Index: -1, Step: -1}
		return v
	}
	r.Variant, r.Value = f.Variants[v].Name, f.Variants[v].JSON
	return v
}

// decide fills r's reason, error and decision and returns the variant served, or -1 on
// error. It writes into r rather than returning a Result to keep the hot path free of
// large copies. Every trace call is behind a nil check: the facts are built only when
// explaining.
func (st *state) decide(f *snapshot.Flag, r *Result) int {
	st.current = f
	r.Index, r.Step = -1, -1
	if !f.Enabled {
		if st.tracing() {
			st.trace.note(0, false, fact{kind: factDisabled})
		}
		r.Reason, r.Kind = ReasonDisabled, DecidedByDisabled
		return f.OffVariant
	}
	if f.Killed {
		if st.tracing() {
			st.trace.note(0, false, fact{kind: factKilled})
		}
		r.Reason, r.Kind = ReasonDisabled, DecidedByKill
		return f.OffVariant
	}
	for _, p := range f.Prerequisites {
		pf := &st.snap.Flags[p.Flag]
		mark := st.open(0, fact{kind: factPrerequisite, name: pf.Key})
		got, code := st.prerequisite(pf)
		ok := got == p.Variant
		if st.tracing() {
			st.trace.close(mark, ok, fact{kind: factPrerequisiteServed, flag: pf, variant: got, want: p.Variant, code: code})
		}
		if !ok {
			r.Reason, r.Kind, r.Name = ReasonDisabled, DecidedByPrerequisite, pf.Key
			return f.OffVariant
		}
	}
	for j := range f.Rules {
		ru := &f.Rules[j]
		st.reset()
		mark := st.open(0, fact{kind: factRule, name: ru.Name})
		if ru.When != nil && !st.test(ru.When) {
			st.close(mark, false, factNoMatch)
			continue
		}
		if v := st.serve(f, &ru.Serve, r, ReasonTargetingMatch); v != outside {
			r.Kind, r.Name, r.Index = DecidedByRule, ru.Name, j
			if st.tracing() {
				st.trace.close(mark, v >= 0, fact{kind: factServes, flag: f, variant: v})
			}
			return v
		}
		st.close(mark, false, factMatchedOutside)
	}
	for j := 0; j <= f.ReleaseRing; j++ {
		ri := &f.Rings[j]
		st.reset()
		mark := st.open(0, fact{kind: factRing, name: ri.Name})
		if ri.When != nil && !st.test(ri.When) {
			st.close(mark, false, factNoMatch)
			continue
		}
		if !st.portion(f, &ri.Portion, 1) {
			st.close(mark, false, factOutside)
			continue
		}
		r.Reason = ReasonTargetingMatch
		if ri.Portion.Kind != snapshot.PortionAll && ri.When == nil {
			r.Reason = ReasonSplit
		}
		if st.tracing() {
			st.trace.close(mark, true, fact{kind: factInRing, name: f.Rings[f.ReleaseRing].Name})
		}
		st.decided(r, DecidedByRing, ri.Name, j)
		return f.ReleaseVar
	}
	st.reset()
	if f.Rollout.Kind == snapshot.ServeVariant && f.Rollout.Portion.Kind == snapshot.PortionAll {
		r.Reason, r.Kind = ReasonDefault, DecidedByDefault
		if len(f.Rules) == 0 && len(f.Prerequisites) == 0 && f.ReleaseRing < 0 {
			r.Reason = ReasonStatic
		}
		if st.tracing() {
			st.trace.note(0, true, fact{kind: factDefault, flag: f, variant: f.Rollout.Variant})
		}
		return f.Rollout.Variant
	}
	mark := st.open(0, fact{kind: factRollout})
	if v := st.serve(f, &f.Rollout, r, ReasonSplit); v != outside {
		r.Kind = DecidedByRollout
		if st.tracing() {
			st.trace.close(mark, v >= 0, fact{kind: factServes, flag: f, variant: v})
		}
		return v
	}
	if st.tracing() {
		st.trace.close(mark, false, fact{kind: factOutsideDefault, flag: f, variant: f.DefaultVariant})
	}
	r.Reason = ReasonDefault
	st.decided(r, DecidedByDefault, "", -1)
	return f.DefaultVariant
}

// test evaluates a rule's or a ring's condition: a single clause, the common case, without
// going through cond (a call fewer in the WASM module).
func (st *state) test(c *snapshot.Condition) bool {
	if c.Kind == snapshot.CondClause && !st.tracing() {
		return st.clause(&c.Clause)
	}
	return st.cond(c, 1)
}

// open records a step whose outcome comes later and returns its mark (-1 when not
// tracing); close completes it.
func (st *state) open(depth int, f fact) int {
	if !st.tracing() {
		return -1
	}
	return st.trace.open(depth, f)
}

func (st *state) close(mark int, matched bool, kind factKind) {
	if st.tracing() {
		st.trace.close(mark, matched, fact{kind: kind})
	}
}

// tracing reports whether the evaluation is explained. It is constant false where
// Explain does not exist (GOOS=wasip1), which drops the tracing code from the module.
func (st *state) tracing() bool { return tracing && st.trace != nil }

func (st *state) reset() {
	st.segment, st.bucketed, st.step = -1, false, -1
}

// decided records the decision and what the bucketing saw.
func (st *state) decided(r *Result, kind DecisionKind, name string, index int) {
	r.Kind, r.Name, r.Index, r.Step = kind, name, index, st.step
	r.Bucketed, r.Bucket, r.Threshold = st.bucketed, st.bucket, st.bound
	if st.segment >= 0 {
		r.Segment = st.snap.Segments[st.segment].Key
	}
}

// prerequisite decides flag pf for the same context and returns the variant it serves (-1
// and the error code on error). It reuses the state, saving what the caller needs, so that
// the recursion does not allocate.
func (st *state) prerequisite(pf *snapshot.Flag) (int, ErrorCode) {
	saved := *st
	if st.tracing() {
		st.trace = st.trace.nested()
	}
	var scratch Result
	got := st.decide(pf, &scratch)
	code := scratch.Error
	*st = saved
	return got, code
}

// outside is serve's answer for a user outside the percentage or schedule.
const outside = -2

// serve applies a rule's or the fallthrough's serve, filling r's reason and bucketing. It
// returns the variant, -1 for an error (filled into r) or outside.
func (st *state) serve(f *snapshot.Flag, s *snapshot.Serve, r *Result, reason Reason) int {
	if s.Kind == snapshot.ServeSplit {
		b, ok := st.bucketOf(f, s.Portion.BucketBy)
		if !ok {
			r.Reason, r.Error = ReasonError, ErrTargetingKeyMissing
			r.Message = st.prep.splitNeeds[st.bucketAttr(f, s.Portion.BucketBy)]
			if st.tracing() {
				st.trace.note(1, false, fact{kind: factSplitMissing})
			}
			return -1
		}
		last := s.Split[len(s.Split)-1]
		v, upper := last.Variant, last.Upper
		for _, w := range s.Split {
			if b < w.Upper {
				v, upper = w.Variant, w.Upper
				break
			}
		}
		st.bucketed, st.bucket, st.bound = true, b, upper
		if st.tracing() {
			st.trace.note(1, true, fact{kind: factSplit, flag: f, variant: v, bucket: b, threshold: upper})
		}
		r.Reason = ReasonSplit
		st.decided(r, r.Kind, "", -1)
		return v
	}
	if !st.portion(f, &s.Portion, 1) {
		return outside
	}
	r.Reason = reason
	if s.Portion.Kind != snapshot.PortionAll {
		r.Reason = ReasonSplit
	}
	st.decided(r, r.Kind, "", -1)
	return s.Variant
}

// portion reports whether the user is within p at the time of evaluation.
func (st *state) portion(f *snapshot.Flag, p *snapshot.Portion, depth int) bool {
	if p.Kind == snapshot.PortionAll {
		return true
	}
	threshold := p.ThresholdAt(st.at)
	if p.Kind == snapshot.PortionSchedule {
		st.step = p.StepAt(st.at)
		if st.tracing() {
			st.trace.note(depth, true, fact{kind: factSchedule, variant: st.step, want: len(p.Steps), threshold: threshold})
		}
	}
	st.bound = threshold
	if threshold >= snapshot.BucketCount {
		if b, ok := st.bucketOf(f, p.BucketBy); ok {
			st.bucketed, st.bucket = true, b
		}
		if st.tracing() {
			st.trace.note(depth, true, fact{kind: factEveryone})
		}
		return true
	}
	b, ok := st.bucketOf(f, p.BucketBy)
	if !ok {
		if st.tracing() {
			st.trace.note(depth, false, fact{kind: factBucketMissing, name: st.snap.Attributes[st.bucketAttr(f, p.BucketBy)]})
		}
		return false
	}
	st.bucketed, st.bucket = true, b
	in := b < threshold
	if st.tracing() {
		st.trace.note(depth, in, fact{kind: factPercentage, bucket: b, threshold: threshold})
	}
	return in
}

func (st *state) bucketAttr(f *snapshot.Flag, override int) int {
	if override >= 0 {
		return override
	}
	return f.BucketBy
}

// bucketOf returns the context's bucket for flag f on the bucketing attribute.
func (st *state) bucketOf(f *snapshot.Flag, override int) (uint32, bool) {
	v := st.ctx.attr(st.bucketAttr(f, override))
	if v == nil {
		return 0, false
	}
	switch v.kind {
	case StringKind:
		return snapshot.Bucket(f.Seed, v.str), true
	case NumberKind:
		var buf [32]byte
		return snapshot.BucketBytes(f.Seed, appendNumber(buf[:0], v.num)), true
	case BoolKind:
		if v.num != 0 {
			return snapshot.Bucket(f.Seed, "true"), true
		}
		return snapshot.Bucket(f.Seed, "false"), true
	}
	return 0, false
}
