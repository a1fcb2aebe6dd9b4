// Package simulate answers "who gets what" for one flag over a population of users: how
// many get each variant, what decided it (which rule, ring or rollout), how the users
// spread over the ring ladder, and how the numbers grow along a schedule's timeline or a
// flag's rollout stages. It evaluates with the real evaluator over a compiled snapshot.
package simulate

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Count is a number of users and their share of the population in percent.
type Count struct {
	Name    string  `json:"name"`
	Users   int     `json:"users"`
	Percent float64 `json:"percent"`
}

// RingCount is how many users fall in a ring of the ladder: the innermost ring whose
// audience they belong to, whether or not the release has reached it.
type RingCount struct {
	Name       string  `json:"name"`
	Released   bool    `json:"released"` // at or inside the release ring
	Users      int     `json:"users"`
	Percent    float64 `json:"percent"`
	Cumulative int     `json:"cumulative"` // users in this ring or an inner one
}

// Timeline is a schedule (or a list of rollout stages) and what it does to the
// population at each point.
type Timeline struct {
	Where   string    `json:"where"`   // "rollout", "rule <name>", "ring <name>" or "stages"
	Variant string    `json:"variant"` // the variant the schedule hands out
	Start   time.Time `json:"start"`   // the schedule's start; zero when not known
	Points  []Point   `json:"points"`
}

// Point is one row of a timeline.
type Point struct {
	At         time.Time     `json:"at"`     // when the percentage applies (zero for stages without a start)
	Offset     time.Duration `json:"offset"` // since the timeline's start (or its first point)
	Percentage float64       `json:"percentage"`
	// PerMillion is the nominal number of users of 1,000,000 that the percentage covers.
	PerMillion int    `json:"perMillion"`
	Gate       string `json:"gate,omitempty"` // the decision gate at this point
	// Users is how many simulated users get the timeline's variant at this point.
	Users   int     `json:"users"`
	Percent float64 `json:"percent"`
}

// Report is the result of a simulation.
type Report struct {
	Flag        string      `json:"flag"`
	Environment string      `json:"environment"`
	At          time.Time   `json:"at"`
	Users       int         `json:"users"`
	BucketBy    string      `json:"bucketBy"`
	Variants    []Count     `json:"variants"`
	Decisions   []Count     `json:"decisions"` // "rule x", "ring canary", "rollout", "default", "kill"...
	Errors      []Count     `json:"errors,omitempty"`
	Rings       []RingCount `json:"rings,omitempty"`
	Timelines   []Timeline  `json:"timelines,omitempty"`
}

// Options tune a simulation.
type Options struct {
	At        time.Time  // the time of evaluation for the variant, decision and ring counts
	Timelines []Timeline // from Schedules or Stages, possibly annotated with gates
	// Progress, if set, is called from time to time with the evaluations done and the
	// total; calls never overlap.
	Progress func(done, total int64)
	Workers  int // 0: GOMAXPROCS
}

// Schedules returns a timeline for every schedule of a flag, in evaluation order: rules,
// then the rings of the ladder up to the release ring, then the rollout. Points carry the
// step times and percentages; Start is the first step's time (callers that know the
// written start may set it and prepend a 0% point).
func Schedules(f *snapshot.Flag) []Timeline {
	var out []Timeline
	add := func(where, variant string, p *snapshot.Portion) {
		if p.Kind != snapshot.PortionSchedule || len(p.Steps) == 0 {
			return
		}
		t := Timeline{Where: where, Variant: variant, Start: time.UnixMilli(p.Steps[0].At).UTC()}
		for _, st := range p.Steps {
			at := time.UnixMilli(st.At).UTC()
			t.Points = append(t.Points, Point{At: at, Percentage: snapshot.PercentageOf(st.Threshold)})
		}
		out = append(out, t)
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.Serve.Kind == snapshot.ServeVariant {
			add("rule "+r.Name, f.Variants[r.Serve.Variant].Name, &r.Serve.Portion)
		}
	}
	for i := 0; i <= f.ReleaseRing && i < len(f.Rings); i++ {
		add("ring "+f.Rings[i].Name, f.Variants[f.ReleaseVar].Name, &f.Rings[i].Portion)
	}
	if f.Rollout.Kind == snapshot.ServeVariant {
		add("rollout", f.Variants[f.Rollout.Variant].Name, &f.Rollout.Portion)
	}
	return out
}

// Stage is one rollout stage: a percentage of users held for a duration (0: forever).
type Stage struct {
	Percentage float64
	Duration   time.Duration
	Gate       string
}

// Stages returns the timeline of a flag's rollout stages: each stage's percentage from the
// end of the previous one, starting at start (zero: offsets only). The simulation applies
// each percentage to the flag's rollout, as the stages executor does.
func Stages(f *snapshot.Flag, stages []Stage, start time.Time) (Timeline, error) {
	if f.Rollout.Kind != snapshot.ServeVariant {
		return Timeline{}, fmt.Errorf("flag %s: stages need a rollout of one variant, not a split", f.Key)
	}
	variant := f.Rollout.Variant
	t := Timeline{Where: "stages", Variant: f.Variants[variant].Name, Start: start}
	var offset time.Duration
	for _, s := range stages {
		p := Point{Offset: offset, Percentage: s.Percentage, Gate: s.Gate}
		if !start.IsZero() {
			p.At = start.Add(offset)
		}
		t.Points = append(t.Points, p)
		offset += s.Duration
	}
	return t, nil
}

// Run simulates flag key of snapshot s over the population.
func Run(s *snapshot.Snapshot, key string, pop Population, opts Options) (*Report, error) {
	fi := s.FlagIndex(key)
	if fi < 0 {
		return nil, fmt.Errorf("no flag %q in the snapshot", key)
	}
	f := &s.Flags[fi]
	n := pop.Len()
	if n == 0 {
		return nil, fmt.Errorf("the population is empty")
	}
	keyAttr := s.Attributes[f.BucketBy]
	rep := &Report{Flag: key, Environment: s.Environment, At: opts.At.UTC(), Users: n, BucketBy: keyAttr}

	// One pass for the flag as it is, one for the ring ladder, one per timeline point.
	passes := 1
	ladder := len(f.Rings) > 0
	if ladder {
		passes++
	}
	for _, t := range opts.Timelines {
		passes += len(t.Points)
	}
	prog := &progress{fn: opts.Progress, total: int64(passes) * int64(n)}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// The flag as it is.
	variants := map[string]int{}
	decisions := map[string]int{}
	errs := map[string]int{}
	var mu sync.Mutex
	ev := evaluator.New(s)
	parallel(n, workers, func(lo, hi int) {
		ctx := evaluator.NewContext()
		lv, ld, le := map[string]int{}, map[string]int{}, map[string]int{}
		for i := lo; i < hi; i++ {
			pop.Fill(i, keyAttr, ctx)
			r := ev.Evaluate(key, ctx, opts.At)
			if r.Reason == evaluator.ReasonError {
				le[string(r.Error)]++
			} else {
				lv[r.Variant]++
			}
			ld[decisionName(&r)]++
			prog.add(1)
		}
		mu.Lock()
		merge(variants, lv)
		merge(decisions, ld)
		merge(errs, le)
		mu.Unlock()
	})
	for _, v := range f.Variants {
		rep.Variants = append(rep.Variants, count(v.Name, variants[v.Name], n))
	}
	rep.Decisions = sortedCounts(decisions, n)
	if len(errs) > 0 {
		rep.Errors = sortedCounts(errs, n)
	}

	if ladder {
		rep.Rings = ringCounts(s, fi, pop, opts.At, keyAttr, workers, prog)
	}
	for _, t := range opts.Timelines {
		t := t
		t.Points = append([]Point(nil), t.Points...)
		for j := range t.Points {
			p := &t.Points[j]
			p.PerMillion = int(snapshot.PercentageOf(snapshot.ThresholdFor(p.Percentage))*10_000 + 0.5)
			switch {
			case p.At.IsZero(): // a stage without a start: its offset is given
			case t.Start.IsZero():
				p.Offset = p.At.Sub(t.Points[0].At)
			default:
				p.Offset = p.At.Sub(t.Start)
			}
			snap, at := s, p.At
			if t.Where == "stages" {
				snap, at = withRolloutPercentage(s, fi, p.Percentage), opts.At
			}
			p.Users = countVariant(snap, key, t.Variant, pop, at, keyAttr, workers, prog)
			p.Percent = percent(p.Users, n)
		}
		rep.Timelines = append(rep.Timelines, t)
	}
	prog.finish()
	return rep, nil
}

// ringCounts evaluates a copy of the flag whose release is at the outermost ring, with no
// rules, prerequisites or kill switch, so the deciding ring is the innermost one each
// user belongs to.
func ringCounts(s *snapshot.Snapshot, fi int, pop Population, at time.Time, keyAttr string, workers int, prog *progress) []RingCount {
	f := s.Flags[fi]
	f.Rules, f.Prerequisites = nil, nil
	f.Enabled, f.Killed = true, false
	f.ReleaseRing = len(f.Rings) - 1
	copied := withFlag(s, fi, f)
	ev := evaluator.New(copied)
	counts := make([]int, len(f.Rings))
	var mu sync.Mutex
	n := pop.Len()
	parallel(n, workers, func(lo, hi int) {
		ctx := evaluator.NewContext()
		local := make([]int, len(f.Rings))
		for i := lo; i < hi; i++ {
			pop.Fill(i, keyAttr, ctx)
			r := ev.Evaluate(f.Key, ctx, at)
			if r.Kind == evaluator.DecidedByRing && r.Index >= 0 {
				local[r.Index]++
			}
			prog.add(1)
		}
		mu.Lock()
		for i, c := range local {
			counts[i] += c
		}
		mu.Unlock()
	})
	orig := &s.Flags[fi]
	out := make([]RingCount, len(f.Rings))
	cum := 0
	for i, ring := range f.Rings {
		cum += counts[i]
		out[i] = RingCount{Name: ring.Name, Released: i <= orig.ReleaseRing, Users: counts[i],
			Percent: percent(counts[i], n), Cumulative: cum}
	}
	return out
}

func countVariant(s *snapshot.Snapshot, key, variant string, pop Population, at time.Time, keyAttr string, workers int, prog *progress) int {
	ev := evaluator.New(s)
	var total atomic.Int64
	parallel(pop.Len(), workers, func(lo, hi int) {
		ctx := evaluator.NewContext()
		c := 0
		for i := lo; i < hi; i++ {
			pop.Fill(i, keyAttr, ctx)
			r := ev.Evaluate(key, ctx, at)
			if r.Variant == variant && r.Reason != evaluator.ReasonError {
				c++
			}
			prog.add(1)
		}
		total.Add(int64(c))
	})
	return int(total.Load())
}

// withRolloutPercentage returns a copy of s in which flag fi's rollout serves its variant
// to p% of users.
func withRolloutPercentage(s *snapshot.Snapshot, fi int, p float64) *snapshot.Snapshot {
	f := s.Flags[fi]
	f.Rollout.Portion = snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(p),
		BucketBy: f.Rollout.Portion.BucketBy}
	return withFlag(s, fi, f)
}

// withFlag returns a shallow copy of s with flag fi replaced.
func withFlag(s *snapshot.Snapshot, fi int, f snapshot.Flag) *snapshot.Snapshot {
	c := *s
	c.Flags = append([]snapshot.Flag(nil), s.Flags...)
	c.Flags[fi] = f
	return &c
}

// decisionName names what decided a result: "rule <name>", "ring <name>", "rollout",
// "default", "disabled", "kill", "prerequisite <flag>", "error".
func decisionName(r *evaluator.Result) string {
	if r.Reason == evaluator.ReasonError {
		return "error"
	}
	switch r.Kind {
	case evaluator.DecidedByRule, evaluator.DecidedByRing, evaluator.DecidedByPrerequisite:
		return r.Kind.String() + " " + r.Name
	}
	return r.Kind.String()
}

func merge(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

func count(name string, users, n int) Count {
	return Count{Name: name, Users: users, Percent: percent(users, n)}
}

func percent(users, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(users) * 100 / float64(n)
}

// sortedCounts orders counts by users, most first, then by name.
func sortedCounts(m map[string]int, n int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, count(k, v, n))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Users != out[j].Users {
			return out[i].Users > out[j].Users
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// parallel splits [0, n) into chunks run on up to workers goroutines.
func parallel(n, workers int, fn func(lo, hi int)) {
	const chunk = 4096
	if workers <= 1 || n <= chunk {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				fn(lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
}

// progress counts evaluations and reports them at most every 1/200 of the total.
type progress struct {
	fn    func(done, total int64)
	total int64
	done  atomic.Int64
	next  atomic.Int64
	mu    sync.Mutex
}

func (p *progress) add(k int64) {
	if p.fn == nil {
		return
	}
	d := p.done.Add(k)
	step := max(p.total/200, 1)
	if d < p.next.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d >= p.next.Load() {
		p.next.Store(d + step)
		p.fn(d, p.total)
	}
}

func (p *progress) finish() {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn(p.total, p.total)
}
