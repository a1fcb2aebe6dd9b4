package snapshot

// Reads is what the evaluation of one flag can depend on besides the snapshot: the context
// attributes it can look at and whether the time of evaluation can change its result.
// A host that knows it can hand the evaluator only those attributes, and keep the result
// of a flag that reads nothing and does not depend on time for as long as the snapshot is
// in use.
type Reads struct {
	// Attributes holds the indexes (into Snapshot.Attributes) of every attribute that a
	// condition, a bucketing or a prerequisite of the flag can read, each once.
	Attributes []int
	// Time is true when a schedule or a relative time clause makes the result depend on
	// the time of evaluation.
	Time bool
}

// FlagReads returns the Reads of every flag, in the order of s.Flags. It follows every
// branch the evaluator can take — rules, release rings up to the release ring, the
// fallthrough, prerequisites and the segments their conditions refer to — so a flag's set
// is never smaller than what any context makes its evaluation read. A disabled or killed
// flag reads nothing: it serves its off variant before looking at the context. s must be
// valid (decoded, or built by the compiler).
func (s *Snapshot) FlagReads() []Reads {
	out := make([]Reads, len(s.Flags))
	w := readsWalker{s: s, marks: make([]int32, len(s.Attributes)), seen: make([]int32, len(s.Flags))}
	for i := range s.Flags {
		w.stamp, w.r = int32(i+1), &out[i]
		w.flag(i)
	}
	return out
}

// readsWalker marks what one flag reads in r; marks and seen hold the stamp of the last
// flag that read an attribute or walked through a flag (its prerequisites).
type readsWalker struct {
	s           *Snapshot
	stamp       int32
	marks, seen []int32
	r           *Reads
}

func (w *readsWalker) flag(i int) {
	f := &w.s.Flags[i]
	if w.seen[i] == w.stamp || !f.Enabled || f.Killed {
		return
	}
	w.seen[i] = w.stamp
	for _, p := range f.Prerequisites {
		w.flag(p.Flag)
	}
	for j := range f.Rules {
		w.cond(f, f.Rules[j].When)
		w.portion(f, &f.Rules[j].Serve.Portion, f.Rules[j].Serve.Kind == ServeSplit)
	}
	for j := 0; j <= f.ReleaseRing; j++ {
		w.cond(f, f.Rings[j].When)
		w.portion(f, &f.Rings[j].Portion, false)
	}
	w.portion(f, &f.Rollout.Portion, f.Rollout.Kind == ServeSplit)
}

// portion marks the bucketing attribute of p (the flag's unless p has its own), which a
// split reads always and a portion unless it covers everyone; a schedule depends on time.
func (w *readsWalker) portion(f *Flag, p *Portion, split bool) {
	if p.Kind == PortionAll && !split {
		return
	}
	w.r.Time = w.r.Time || p.Kind == PortionSchedule
	a := f.BucketBy
	if p.BucketBy >= 0 {
		a = p.BucketBy
	}
	w.attr(a)
}

// cond marks what condition c reads for flag f (whose bucketing a percentage in a segment
// uses).
func (w *readsWalker) cond(f *Flag, c *Condition) {
	if c == nil {
		return
	}
	switch c.Kind {
	case CondSegment:
		w.cond(f, &w.s.Segments[c.Segment].When)
	case CondPercentage:
		w.portion(f, &c.Portion, false)
	case CondClause:
		w.attr(c.Clause.Attribute)
		w.r.Time = w.r.Time || c.Clause.Relative
	}
	for k := range c.Children {
		w.cond(f, &c.Children[k])
	}
}

func (w *readsWalker) attr(a int) {
	if w.marks[a] != w.stamp {
		w.marks[a] = w.stamp
		w.r.Attributes = append(w.r.Attributes, a)
	}
}
