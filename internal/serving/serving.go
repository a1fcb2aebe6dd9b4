// Package serving works out, from a compiled flag alone, which variants a flag can serve
// at a given time, whether it serves one variant to everyone, and since when. Lint uses it
// to find flags that are fully rolled out (or never shipped) and can be removed; the
// release checklist uses it to find the flags that are still rolling out.
//
// The analysis is conservative: a variant counts as served when some user could get it,
// whatever the users actually look like. Prerequisites are followed.
package serving

import (
	"math"
	"slices"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Forever is the Since of a flag whose schedules never changed what it serves.
const Forever int64 = math.MinInt64

// Variants returns the indexes of the variants flag fi of s can serve at time at (Unix
// milliseconds), sorted.
func Variants(s *snapshot.Snapshot, fi int, at int64) []int {
	var set []int
	variants(s, fi, at, &set, 0)
	slices.Sort(set)
	return slices.Compact(set)
}

// maxDepth bounds prerequisite chains (snapshots reject cycles; this keeps a hostile one
// from recursing forever).
const maxDepth = 64

func variants(s *snapshot.Snapshot, fi int, at int64, set *[]int, depth int) {
	f := &s.Flags[fi]
	add := func(v int) { *set = append(*set, v) }
	if !f.Enabled || f.Killed || depth > maxDepth {
		add(f.OffVariant)
		return
	}
	for _, p := range f.Prerequisites {
		if !slices.Equal(Variants(s, p.Flag, at), []int{p.Variant}) {
			add(f.OffVariant)
			break
		}
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		if covered := serve(&r.Serve, at, add); covered && r.When == nil {
			return
		}
	}
	for j := 0; j <= f.ReleaseRing && j < len(f.Rings); j++ {
		ring := &f.Rings[j]
		t := ring.Portion.ThresholdAt(at)
		if t > 0 {
			add(f.ReleaseVar)
		}
		if ring.When == nil && t >= snapshot.BucketCount {
			return
		}
	}
	if !serve(&f.Rollout, at, add) {
		add(f.DefaultVariant)
	}
}

// serve adds the variants a serve can hand out and reports whether it covers every user
// it applies to.
func serve(sv *snapshot.Serve, at int64, add func(int)) bool {
	if sv.Kind == snapshot.ServeSplit {
		var lower uint32
		for _, w := range sv.Split {
			if w.Upper > lower {
				add(w.Variant)
			}
			lower = w.Upper
		}
		return true
	}
	t := sv.Portion.ThresholdAt(at)
	if t > 0 {
		add(sv.Variant)
	}
	return t >= snapshot.BucketCount
}

// ChangeTimes returns the times (Unix milliseconds, increasing, no repeats) at which the
// flag's schedules change what it serves: every step of every schedule of its rules,
// rings and rollout, and of its prerequisites'.
func ChangeTimes(s *snapshot.Snapshot, fi int) []int64 {
	var out []int64
	seen := map[int]bool{}
	var walk func(fi, depth int)
	walk = func(fi, depth int) {
		if seen[fi] || depth > maxDepth {
			return
		}
		seen[fi] = true
		f := &s.Flags[fi]
		addSteps := func(p *snapshot.Portion) {
			if p.Kind == snapshot.PortionSchedule {
				for _, st := range p.Steps {
					out = append(out, st.At)
				}
			}
		}
		for i := range f.Rules {
			addSteps(&f.Rules[i].Serve.Portion)
		}
		for i := range f.Rings {
			addSteps(&f.Rings[i].Portion)
		}
		addSteps(&f.Rollout.Portion)
		for _, p := range f.Prerequisites {
			walk(p.Flag, depth+1)
		}
	}
	walk(fi, 0)
	slices.Sort(out)
	return slices.Compact(out)
}

// Uniform reports whether flag fi serves a single variant to everyone at time at, and
// which. When it does, since is the time from which it has done so without a break,
// judged from its schedules only: the step that made it uniform, or Forever when no
// schedule ever changed it (the flag files' history must tell then).
func Uniform(s *snapshot.Snapshot, fi int, at int64) (variant int, since int64, ok bool) {
	vs := Variants(s, fi, at)
	if len(vs) != 1 {
		return snapshot.NoIndex, 0, false
	}
	times := ChangeTimes(s, fi)
	since = Forever
	for i := len(times) - 1; i >= 0; i-- {
		c := times[i]
		if c > at {
			continue
		}
		before := Variants(s, fi, c-1)
		if !slices.Equal(before, vs) {
			since = c
			break
		}
	}
	return vs[0], since, true
}

// Pending reports whether a schedule of flag fi still has a step after time at.
func Pending(s *snapshot.Snapshot, fi int, at int64) bool {
	times := ChangeTimes(s, fi)
	return len(times) > 0 && times[len(times)-1] > at
}
