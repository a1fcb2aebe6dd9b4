// Package evaluator answers "what does this context get for flag X?" from a compiled
// snapshot. It is the one implementation of the evaluation semantics: the native Go hosts
// use it directly and the WASM edge module is built from it.
//
// Evaluation never parses: snapshot.Decode has already validated and prepared everything.
// With a reused Context, evaluating a flag does not allocate. The time of evaluation is an
// input, never a clock read, so schedules are reproducible.
//
// The package builds for GOOS=wasip1 and avoids fmt, reflection and encoding/json.
package evaluator

import (
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Evaluator evaluates flags against the snapshot it holds. It is safe for concurrent use;
// Swap replaces the snapshot atomically while evaluations run.
type Evaluator struct {
	snap atomic.Pointer[snapshot.Snapshot]
}

// New returns an evaluator for s, which must come from snapshot.Decode or the compiler
// (nil: every evaluation reports a GENERAL error until Swap).
func New(s *snapshot.Snapshot) *Evaluator {
	e := &Evaluator{}
	if s != nil {
		e.snap.Store(s)
	}
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
func (e *Evaluator) Swap(s *snapshot.Snapshot) *snapshot.Snapshot { return e.snap.Swap(s) }

// Snapshot returns the snapshot in use.
func (e *Evaluator) Snapshot() *snapshot.Snapshot { return e.snap.Load() }

// Evaluate evaluates flag key for ctx at time at.
func (e *Evaluator) Evaluate(key string, ctx *Context, at time.Time) Result {
	return e.evaluateAt(key, ctx, at.UnixMilli())
}

func (e *Evaluator) evaluateAt(key string, ctx *Context, at int64) Result {
	s := e.snap.Load()
	if s == nil {
		return errorResult(key, ErrGeneral, "no snapshot loaded")
	}
	i := s.FlagIndex(key)
	if i < 0 {
		return errorResult(key, ErrFlagNotFound, "flag not found")
	}
	st := state{snap: s, ctx: ctx, at: at}
	ctx.bind(s)
	return st.flag(i)
}

// EvaluateAs evaluates flag key and reports TYPE_MISMATCH when its type is not want.
func (e *Evaluator) EvaluateAs(key string, want snapshot.ValueType, ctx *Context, at time.Time) Result {
	r := e.Evaluate(key, ctx, at)
	if r.Reason != ReasonError && r.Type != want {
		t := r.Type
		r = errorResult(key, ErrTypeMismatch, "flag is "+t.String()+", not "+want.String())
		r.Type = t
	}
	return r
}

// EvaluateAll evaluates every flag, in key order, appending the results to dst.
func (e *Evaluator) EvaluateAll(ctx *Context, at time.Time, dst []Result) []Result {
	s := e.snap.Load()
	if s == nil {
		return dst
	}
	st := state{snap: s, ctx: ctx, at: at.UnixMilli()}
	ctx.bind(s)
	for i := range s.Flags {
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
	ctx   *Context
	at    int64 // Unix milliseconds
	trace *Trace

	current  *snapshot.Flag // the flag being decided
	segment  int            // last segment found to match, or -1
	bucketed bool
	bucket   uint32
	bound    uint32
	step     int
}

func (st *state) flag(i int) Result {
	f := &st.snap.Flags[i]
	var r Result
	v := st.decide(f, &r)
	r.Key, r.Type = f.Key, f.Type
	if v < 0 {
		r.Decision = Decision{Kind: DecidedByError, Index: -1, Step: -1}
		return r
	}
	r.Variant, r.Value = f.Variants[v].Name, f.Variants[v].JSON
	return r
}

// decide fills r's reason, error and decision and returns the variant served, or -1 on
// error. It writes into r rather than returning a Result to keep the hot path free of
// large copies.
func (st *state) decide(f *snapshot.Flag, r *Result) int {
	st.current = f
	r.Index, r.Step = -1, -1
	if !f.Enabled {
		st.note(0, "flag", false, "disabled: serves off variant")
		r.Reason, r.Kind = ReasonDisabled, DecidedByDisabled
		return f.OffVariant
	}
	if f.Killed {
		st.note(0, "flag", false, "killed: serves off variant")
		r.Reason, r.Kind = ReasonDisabled, DecidedByKill
		return f.OffVariant
	}
	for _, p := range f.Prerequisites {
		pf := &st.snap.Flags[p.Flag]
		mark := -1
		if st.trace != nil {
			mark = st.open(0, "prerequisite "+pf.Key)
		}
		got, code := st.prerequisite(pf)
		ok := got == p.Variant
		if st.trace != nil {
			detail := "serves " + variantName(pf, got) + ", needs " + pf.Variants[p.Variant].Name
			if got < 0 {
				detail = "error " + string(code)
			}
			st.close(mark, ok, detail)
		}
		if !ok {
			r.Reason, r.Kind, r.Name = ReasonDisabled, DecidedByPrerequisite, pf.Key
			return f.OffVariant
		}
	}
	for j := range f.Rules {
		ru := &f.Rules[j]
		st.reset()
		mark := -1
		if st.trace != nil {
			mark = st.open(0, "rule "+ru.Name)
		}
		if ru.When != nil && !st.cond(ru.When, 1) {
			st.close(mark, false, "condition did not match")
			continue
		}
		if v := st.serve(f, &ru.Serve, r, ReasonTargetingMatch); v != outside {
			r.Kind, r.Name, r.Index = DecidedByRule, ru.Name, j
			if st.trace != nil {
				st.close(mark, v >= 0, "serves "+variantName(f, v))
			}
			return v
		}
		st.close(mark, false, "condition matched, outside the percentage")
	}
	for j := 0; j <= f.ReleaseRing; j++ {
		ri := &f.Rings[j]
		st.reset()
		mark := -1
		if st.trace != nil {
			mark = st.open(0, "ring "+ri.Name)
		}
		if ri.When != nil && !st.cond(ri.When, 1) {
			st.close(mark, false, "condition did not match")
			continue
		}
		if !st.portion(f, &ri.Portion, 1) {
			st.close(mark, false, "outside the percentage")
			continue
		}
		r.Reason = ReasonTargetingMatch
		if ri.Portion.Kind != snapshot.PortionAll && ri.When == nil {
			r.Reason = ReasonSplit
		}
		if st.trace != nil {
			st.close(mark, true, "in ring; release is at ring "+f.Rings[f.ReleaseRing].Name)
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
		if st.trace != nil {
			st.note(0, "default", true, "serves "+variantName(f, f.Rollout.Variant))
		}
		return f.Rollout.Variant
	}
	mark := st.open(0, "rollout")
	if v := st.serve(f, &f.Rollout, r, ReasonSplit); v != outside {
		r.Kind = DecidedByRollout
		if st.trace != nil {
			st.close(mark, v >= 0, "serves "+variantName(f, v))
		}
		return v
	}
	if st.trace != nil {
		st.close(mark, false, "outside the percentage: serves default "+variantName(f, f.DefaultVariant))
	}
	r.Reason = ReasonDefault
	st.decided(r, DecidedByDefault, "", -1)
	return f.DefaultVariant
}

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
	if st.trace != nil {
		st.trace = st.trace.indent()
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
			r.Message = "split needs attribute " + st.snap.Attributes[st.bucketAttr(f, s.Portion.BucketBy)]
			st.note(1, "split", false, "bucketing attribute missing")
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
		if st.trace != nil {
			st.note(1, "split", true, "bucket "+itoa(int(b))+" < "+itoa(int(upper))+": "+variantName(f, v))
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

func scheduleDetail(step, steps int, threshold uint32) string {
	if step < 0 {
		return "before step 1 of " + itoa(steps) + ": 0%"
	}
	return "step " + itoa(step+1) + " of " + itoa(steps) + " in force: " + percent(threshold)
}

// portion reports whether the user is within p at the time of evaluation.
func (st *state) portion(f *snapshot.Flag, p *snapshot.Portion, depth int) bool {
	if p.Kind == snapshot.PortionAll {
		return true
	}
	threshold := p.ThresholdAt(st.at)
	if p.Kind == snapshot.PortionSchedule {
		st.step = p.StepAt(st.at)
		if st.trace != nil {
			st.note(depth, "schedule", true, scheduleDetail(st.step, len(p.Steps), threshold))
		}
	}
	st.bound = threshold
	if threshold >= snapshot.BucketCount {
		if b, ok := st.bucketOf(f, p.BucketBy); ok {
			st.bucketed, st.bucket = true, b
		}
		st.note(depth, "percentage", true, "100%")
		return true
	}
	b, ok := st.bucketOf(f, p.BucketBy)
	if !ok {
		if st.trace != nil {
			st.note(depth, "percentage", false, "bucketing attribute "+st.snap.Attributes[st.bucketAttr(f, p.BucketBy)]+" missing")
		}
		return false
	}
	st.bucketed, st.bucket = true, b
	in := b < threshold
	if st.trace != nil {
		st.note(depth, "percentage", in, "bucket "+itoa(int(b))+" vs threshold "+itoa(int(threshold))+" ("+percent(threshold)+")")
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
	v, ok := st.ctx.attr(st.bucketAttr(f, override))
	if !ok {
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

func variantName(f *snapshot.Flag, v int) string {
	if v >= 0 && v < len(f.Variants) {
		return f.Variants[v].Name
	}
	return "?"
}
