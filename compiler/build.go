package compiler

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Options are the snapshot header fields that do not come from the flag files. Taking
// them as options keeps builds reproducible: the same files and options always encode to
// the same bytes.
type Options struct {
	Revision  string // the source revision, for example a git commit
	BuildTime int64  // Unix seconds, for example the commit time
}

// Compile loads dir (see Load) and builds a snapshot for every environment of the project.
func Compile(dir string, opts Options) (map[string]*snapshot.Snapshot, error) {
	p, err := Load(dir)
	if err != nil {
		return nil, err
	}
	return p.BuildAll(opts)
}

// BuildAll builds a snapshot for every environment of the project, the environments in
// parallel.
func (p *Project) BuildAll(opts Options) (map[string]*snapshot.Snapshot, error) {
	snaps := make([]*snapshot.Snapshot, len(p.Environments))
	errs := make([]error, len(p.Environments))
	parallel(len(p.Environments), func(i int) {
		snaps[i], errs[i] = p.Build(p.Environments[i], opts)
	})
	out := make(map[string]*snapshot.Snapshot, len(p.Environments))
	for i, env := range p.Environments {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out[env] = snaps[i]
	}
	return out, nil
}

// Build compiles the project for one environment: overrides applied, references resolved
// to indexes, attribute names interned and sorted, sets sorted, percentages turned into
// bucket thresholds and schedules into absolute times. The project must come from Load,
// which has checked everything; Build fails only for an environment the project does not
// list, or a snapshot larger than edges load (snapshot.MaxSize).
func (p *Project) Build(env string, opts Options) (*snapshot.Snapshot, error) {
	if !p.HasEnvironment(env) {
		return nil, fmt.Errorf("compiler: unknown environment %q (the project has %s)", env, strings.Join(p.Environments, ", "))
	}
	b := &builder{p: p, segIdx: make(map[string]int, len(p.Segments)), flagIdx: make(map[string]int, len(p.Flags))}
	flags := make([]*Flag, len(p.Flags))
	for i, f := range p.Flags {
		flags[i] = f.In(env)
		b.flagIdx[f.Key] = i
	}
	for i, s := range p.Segments {
		b.segIdx[s.Key] = i
	}
	b.internAttributes(flags)

	s := &snapshot.Snapshot{
		Environment: env,
		Revision:    opts.Revision,
		BuildTime:   opts.BuildTime,
		Attributes:  b.attrNames,
		Segments:    make([]snapshot.Segment, len(p.Segments)),
		Flags:       make([]snapshot.Flag, len(flags)),
	}
	for i, seg := range p.Segments {
		s.Segments[i] = snapshot.Segment{Key: seg.Key, When: b.condition(seg.When)}
	}
	for i, f := range flags {
		b.flag(&s.Flags[i], f)
	}
	if b.err != nil {
		return nil, b.err
	}
	if err := checkSize(s); err != nil {
		return nil, err
	}
	return s, nil
}

// checkSize refuses a snapshot larger than edges load (snapshot.MaxSize), naming the flag
// with the most variant bytes, the usual culprit.
func checkSize(s *snapshot.Snapshot) error {
	size := len(snapshot.Encode(s))
	if size <= snapshot.MaxSize {
		return nil
	}
	largest, most := "", 0
	for i := range s.Flags {
		n := 0
		for _, v := range s.Flags[i].Variants {
			n += len(v.JSON)
		}
		if n > most {
			largest, most = s.Flags[i].Key, n
		}
	}
	msg := fmt.Sprintf("compiler: the snapshot of environment %s encodes to %d bytes, over the limit of %d bytes (32 MiB) that edges load",
		s.Environment, size, snapshot.MaxSize)
	if largest != "" {
		msg += fmt.Sprintf("; flag %s has the largest variants (%d bytes)", largest, most)
	}
	return errors.New(msg)
}

type builder struct {
	p         *Project
	attrNames []string
	attrIdx   map[string]int
	segIdx    map[string]int
	flagIdx   map[string]int
	rings     []snapshot.Ring // the project's ladder, built once and shared by the flags using it
	err       error
}

// internAttributes collects every attribute name the snapshot will refer to and sorts them.
func (b *builder) internAttributes(flags []*Flag) {
	set := map[string]bool{}
	var cond func(c *Condition)
	cond = func(c *Condition) {
		if c == nil {
			return
		}
		switch c.Kind {
		case CondClause:
			set[c.Attribute] = true
		case CondPercentage:
			if c.BucketBy != "" {
				set[c.BucketBy] = true
			}
		}
		for _, ch := range c.Children {
			cond(ch)
		}
	}
	serve := func(s *Serve) {
		if s != nil && s.BucketBy != "" {
			set[s.BucketBy] = true
		}
	}
	rings := func(rs []*Ring) {
		for _, r := range rs {
			cond(r.When)
			if r.BucketBy != "" {
				set[r.BucketBy] = true
			}
		}
	}
	for _, s := range b.p.Segments {
		cond(s.When)
	}
	projectRings := false
	for _, f := range flags {
		set[f.BucketBy] = true
		for _, r := range f.Rules {
			cond(r.When)
			serve(r.Serve)
		}
		serve(f.Rollout)
		if f.Release != nil {
			if f.Rings != nil {
				rings(f.Rings)
			} else {
				projectRings = true
			}
		}
	}
	if projectRings {
		rings(b.p.Rings)
	}
	b.attrNames = make([]string, 0, len(set))
	for a := range set {
		b.attrNames = append(b.attrNames, a)
	}
	slices.Sort(b.attrNames)
	b.attrIdx = make(map[string]int, len(b.attrNames))
	for i, a := range b.attrNames {
		b.attrIdx[a] = i
	}
}

func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("compiler: "+format, args...)
	}
}

// bucketBy returns the attribute index of an explicit bucketBy, or NoIndex for the flag's.
func (b *builder) bucketBy(name string) int {
	if name == "" {
		return snapshot.NoIndex
	}
	return b.attrIdx[name]
}

func (b *builder) flag(out *snapshot.Flag, f *Flag) {
	variantIdx := make(map[string]int, len(f.Variants))
	out.Key = f.Key
	out.Type = f.Type
	out.Variants = make([]snapshot.Variant, len(f.Variants))
	for i, v := range f.Variants {
		out.Variants[i] = snapshot.Variant{Name: v.Name, JSON: v.JSON}
		variantIdx[v.Name] = i
	}
	out.OffVariant = variantIdx[f.OffVariant]
	out.DefaultVariant = variantIdx[f.DefaultVariant]
	out.Enabled, out.Killed = f.Enabled, f.Killed
	out.Seed = snapshot.SeedFor(f.Salt)
	out.BucketBy = b.attrIdx[f.BucketBy]
	for _, pr := range f.Prerequisites {
		target := b.p.Flags[b.flagIdx[pr.Flag]]
		out.Prerequisites = append(out.Prerequisites, snapshot.Prerequisite{
			Flag: b.flagIdx[pr.Flag], Variant: slices.IndexFunc(target.Variants, func(v *Variant) bool { return v.Name == pr.Variant }),
		})
	}
	for _, r := range f.Rules {
		rule := snapshot.Rule{Name: r.Name, Serve: b.serve(r.Serve, variantIdx)}
		if r.When != nil {
			c := b.condition(r.When)
			rule.When = &c
		}
		out.Rules = append(out.Rules, rule)
	}
	out.ReleaseRing = snapshot.NoIndex
	if f.Release != nil {
		ladder := f.Rings
		if ladder == nil {
			ladder = b.p.Rings
			if b.rings == nil {
				b.rings = b.ringLadder(ladder)
			}
			out.Rings = b.rings
		} else {
			out.Rings = b.ringLadder(ladder)
		}
		out.ReleaseRing = slices.IndexFunc(ladder, func(r *Ring) bool { return r.Name == f.Release.Ring })
		out.ReleaseVar = variantIdx[f.Release.Variant]
		if out.ReleaseRing < 0 {
			b.fail("flag %q: unknown ring %q", f.Key, f.Release.Ring)
		}
	}
	if f.Rollout != nil {
		out.Rollout = b.serve(f.Rollout, variantIdx)
	} else {
		out.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: out.DefaultVariant,
			Portion: snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}}
	}
}

func (b *builder) ringLadder(rings []*Ring) []snapshot.Ring {
	out := make([]snapshot.Ring, len(rings))
	for i, r := range rings {
		out[i] = snapshot.Ring{Name: r.Name, Portion: b.portion(r.Percentage, r.Schedule, r.BucketBy)}
		if r.When != nil {
			c := b.condition(r.When)
			out[i].When = &c
		}
	}
	return out
}

func (b *builder) portion(pct *float64, sched *Schedule, bucketBy string) snapshot.Portion {
	switch {
	case pct != nil:
		return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(*pct), BucketBy: b.bucketBy(bucketBy)}
	case sched != nil:
		p := snapshot.Portion{Kind: snapshot.PortionSchedule, BucketBy: b.bucketBy(bucketBy), Steps: make([]snapshot.Step, len(sched.Steps))}
		for i, st := range sched.Steps {
			p.Steps[i] = snapshot.Step{At: st.At.UnixMilli(), Threshold: snapshot.ThresholdFor(st.Percentage)}
		}
		return p
	}
	return snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
}

func (b *builder) serve(s *Serve, variantIdx map[string]int) snapshot.Serve {
	if s.IsSplit() {
		out := snapshot.Serve{Kind: snapshot.ServeSplit, Portion: snapshot.Portion{BucketBy: b.bucketBy(s.BucketBy)}}
		var cum uint32
		for _, w := range s.Split {
			cum += ticks(w.Weight)
			out.Split = append(out.Split, snapshot.Weight{Variant: variantIdx[w.Variant], Upper: cum})
		}
		if cum != snapshot.BucketCount {
			b.fail("split weights end at %d, not %d", cum, snapshot.BucketCount)
		}
		return out
	}
	return snapshot.Serve{Kind: snapshot.ServeVariant, Variant: variantIdx[s.Variant], Portion: b.portion(s.Percentage, s.Schedule, s.BucketBy)}
}

func (b *builder) condition(c *Condition) snapshot.Condition {
	switch c.Kind {
	case CondAll, CondAny, CondNot:
		kind := map[CondKind]snapshot.CondKind{CondAll: snapshot.CondAll, CondAny: snapshot.CondAny, CondNot: snapshot.CondNot}[c.Kind]
		out := snapshot.Condition{Kind: kind, Children: make([]snapshot.Condition, len(c.Children))}
		for i, ch := range c.Children {
			out.Children[i] = b.condition(ch)
		}
		return out
	case CondSegment:
		return snapshot.Condition{Kind: snapshot.CondSegment, Segment: b.segIdx[c.Segment]}
	case CondPercentage:
		return snapshot.Condition{Kind: snapshot.CondPercentage, Portion: snapshot.Portion{
			Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(c.Percentage), BucketBy: b.bucketBy(c.BucketBy)}}
	}
	return snapshot.Condition{Kind: snapshot.CondClause, Clause: b.clause(c)}
}

func (b *builder) clause(c *Condition) snapshot.Clause {
	o, ok := snapshot.LookupOperator(c.Op)
	if !ok {
		b.fail("unknown operator %q", c.Op)
		return snapshot.Clause{Op: snapshot.OpPresent}
	}
	cl := snapshot.Clause{Attribute: b.attrIdx[c.Attribute], Op: o.Op, Negate: o.Negate, IgnoreCase: c.IgnoreCase && o.IgnoreCase}
	for _, v := range c.Values {
		cl.Values = append(cl.Values, b.literal(o.Operand, v, &cl))
	}
	switch cl.Op {
	case snapshot.OpIn, snapshot.OpStartsWith, snapshot.OpEndsWith, snapshot.OpContains:
		slices.SortFunc(cl.Values, func(x, y snapshot.Literal) int {
			switch {
			case snapshot.LiteralLess(x, y):
				return -1
			case snapshot.LiteralLess(y, x):
				return 1
			}
			return 0
		})
		cl.Values = slices.CompactFunc(cl.Values, func(x, y snapshot.Literal) bool {
			return !snapshot.LiteralLess(x, y) && !snapshot.LiteralLess(y, x)
		})
	}
	if reason := cl.Prepare(); reason != "" {
		b.fail("attribute %q op %s: %s", c.Attribute, c.Op, reason)
	}
	return cl
}

func (b *builder) literal(operand snapshot.OperandKind, v any, cl *snapshot.Clause) snapshot.Literal {
	switch operand {
	case snapshot.OperandSemver:
		s, _ := v.(string)
		sv, _ := snapshot.ParseSemver(s)
		return snapshot.Literal{Kind: snapshot.LitSemver, Str: semverText(sv)}
	case snapshot.OperandTime:
		s, _ := v.(string)
		if off, rel, _ := parseRelative(s); rel {
			cl.Relative = true
			return snapshot.Literal{Kind: snapshot.LitTime, Num: float64(off)}
		}
		t, _ := parseTime(s)
		return snapshot.Literal{Kind: snapshot.LitTime, Num: float64(t.UnixMilli())}
	}
	switch v := v.(type) {
	case string:
		if cl.IgnoreCase {
			v = strings.ToLower(v)
		}
		return snapshot.Literal{Kind: snapshot.LitString, Str: v}
	case float64:
		return snapshot.Literal{Kind: snapshot.LitNumber, Num: v}
	case bool:
		if v {
			return snapshot.Literal{Kind: snapshot.LitBool, Num: 1}
		}
		return snapshot.Literal{Kind: snapshot.LitBool}
	}
	b.fail("unsupported value %v", v)
	return snapshot.Literal{Kind: snapshot.LitString}
}
