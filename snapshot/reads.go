package snapshot

// Reads is what the evaluation of one flag can depend on besides the snapshot: the context
// attributes it can look at and whether the time of evaluation can change its result.
// A host that knows it can hand the evaluator only those attributes, and keep the result
// of a flag that reads nothing and does not depend on time for as long as the snapshot is
// in use.
type Reads struct {
	// Attributes holds the indexes (into Snapshot.Attributes) of every attribute that a
	// condition, a bucketing or a prerequisite of the flag can read, in increasing order.
	Attributes []int
	// Time is true when a schedule or a relative time clause makes the result depend on
	// the time of evaluation.
	Time bool
}

// FlagReads returns the Reads of every flag, in the order of s.Flags. It follows every
// branch the evaluator can take — rules, release rings up to the release ring, the
// fallthrough, prerequisites and the segments their conditions refer to — so a flag's set
// is never smaller than what any context makes its evaluation read. A disabled or killed
// flag reads nothing: it serves its off variant before looking at the context.
func (s *Snapshot) FlagReads() []Reads {
	w := readsWalker{s: s, attrs: make([]bool, len(s.Attributes)), seen: make([]bool, len(s.Flags))}
	out := make([]Reads, len(s.Flags))
	for i := range s.Flags {
		w.flag(i)
		// What was marked, sorted (insertion sort: a flag reads few attributes), then
		// unmarked for the next flag.
		r := Reads{Time: w.time, Attributes: w.marked}
		for k := 1; k < len(r.Attributes); k++ {
			for j := k; j > 0 && r.Attributes[j] < r.Attributes[j-1]; j-- {
				r.Attributes[j], r.Attributes[j-1] = r.Attributes[j-1], r.Attributes[j]
			}
		}
		for _, a := range r.Attributes {
			w.attrs[a] = false
		}
		for _, f := range w.walked {
			w.seen[f] = false
		}
		out[i] = r
		w.marked, w.walked, w.time = nil, w.walked[:0], false
	}
	return out
}

type readsWalker struct {
	s      *Snapshot
	attrs  []bool // attribute index → marked
	marked []int  // the attributes marked
	seen   []bool // flag index → walked (prerequisites shared by several paths)
	walked []int  // the flags walked
	time   bool
}

func (w *readsWalker) flag(i int) {
	if w.seen[i] {
		return
	}
	w.seen[i] = true
	w.walked = append(w.walked, i)
	f := &w.s.Flags[i]
	if !f.Enabled || f.Killed {
		return
	}
	for _, p := range f.Prerequisites {
		w.flag(p.Flag)
	}
	for j := range f.Rules {
		w.cond(f, f.Rules[j].When)
		w.serve(f, &f.Rules[j].Serve)
	}
	for j := 0; j <= f.ReleaseRing && j < len(f.Rings); j++ {
		w.cond(f, f.Rings[j].When)
		w.portion(f, &f.Rings[j].Portion)
	}
	w.serve(f, &f.Rollout)
}

func (w *readsWalker) serve(f *Flag, s *Serve) {
	if s.Kind == ServeSplit {
		w.bucket(f, s.Portion.BucketBy)
		return
	}
	w.portion(f, &s.Portion)
}

func (w *readsWalker) portion(f *Flag, p *Portion) {
	if p.Kind == PortionAll {
		return
	}
	if p.Kind == PortionSchedule {
		w.time = true
	}
	w.bucket(f, p.BucketBy)
}

// bucket marks the bucketing attribute: the portion's own, or the flag's.
func (w *readsWalker) bucket(f *Flag, override int) {
	a := f.BucketBy
	if override >= 0 {
		a = override
	}
	w.attr(a)
}

func (w *readsWalker) attr(a int) {
	if a >= 0 && a < len(w.attrs) && !w.attrs[a] {
		w.attrs[a] = true
		w.marked = append(w.marked, a)
	}
}

// cond marks what condition c reads for flag f (whose bucketing a percentage in a segment
// uses).
func (w *readsWalker) cond(f *Flag, c *Condition) {
	if c == nil {
		return
	}
	switch c.Kind {
	case CondSegment:
		if c.Segment >= 0 && c.Segment < len(w.s.Segments) {
			w.cond(f, &w.s.Segments[c.Segment].When)
		}
	case CondPercentage:
		w.portion(f, &c.Portion)
	case CondClause:
		w.attr(c.Clause.Attribute)
		if c.Clause.Relative {
			w.time = true
		}
	}
	for k := range c.Children {
		w.cond(f, &c.Children[k])
	}
}
