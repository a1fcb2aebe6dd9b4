// Package properties checks the release guarantees on the real example flags: moving a
// flag to the next ring or the next schedule step never takes the feature away from
// anyone who had it, and the shares land where the flags say.
package properties_test

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

const users = 20000

func production(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	snaps, err := compiler.Compile("../../flags", compiler.Options{Revision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return snaps["production"]
}

// contexts returns a population with a mix of the attributes the example segments read.
func contexts() []*evaluator.Context {
	out := make([]*evaluator.Context, users)
	countries := []string{"US", "DE", "FR", "GB", "JP", "BR"}
	plans := []string{"free", "pro", "enterprise"}
	for i := range out {
		c := evaluator.NewContext().
			SetString("userId", "user-"+strconv.Itoa(i)).
			SetString("accountId", "acct-"+strconv.Itoa(i/7)).
			SetString("sessionId", "sess-"+strconv.Itoa(i*31)).
			SetString("country", countries[i%len(countries)]).
			SetString("plan", plans[i%len(plans)]).
			SetNumber("accountAgeDays", float64(i%1500)).
			SetNumber("requestsLastWeek", float64(i%40))
		if i%10 == 0 {
			c.SetString("email", "employee"+strconv.Itoa(i)+"@company.com")
		} else {
			c.SetString("email", "customer"+strconv.Itoa(i)+"@example.com")
		}
		if i%17 == 0 {
			c.SetBool("betaProgram", true)
		}
		out[i] = c
	}
	return out
}

func TestRingPromotionNeverRemovesAnyone(t *testing.T) {
	s := production(t)
	pop := contexts()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	promoted := 0
	for fi := range s.Flags {
		f := &s.Flags[fi]
		if f.ReleaseRing < 0 || f.Killed || !f.Enabled {
			continue
		}
		promoted++
		had := make([]bool, len(pop))
		prevCount := 0
		for ring := range f.Rings {
			f.ReleaseRing = ring
			e := evaluator.New(s)
			count := 0
			for i, ctx := range pop {
				r := e.Evaluate(f.Key, ctx, at)
				on := r.Variant == f.Variants[f.ReleaseVar].Name
				if had[i] && !on {
					t.Fatalf("%s: user %d lost the feature moving to ring %s", f.Key, i, f.Rings[ring].Name)
				}
				if on {
					count++
				}
				had[i] = had[i] || on
			}
			if count < prevCount {
				t.Errorf("%s: ring %s reaches %d users, fewer than the ring before (%d)", f.Key, f.Rings[ring].Name, count, prevCount)
			}
			prevCount = count
		}
		if prevCount != len(pop) && f.Rings[len(f.Rings)-1].When == nil {
			t.Errorf("%s: the outermost ring reaches %d of %d users", f.Key, prevCount, len(pop))
		}
	}
	if promoted == 0 {
		t.Fatal("no example flag has a release ring")
	}
}

func TestSchedulesOnlyGrow(t *testing.T) {
	s := production(t)
	e := evaluator.New(s)
	pop := contexts()
	checked := 0
	for fi := range s.Flags {
		f := &s.Flags[fi]
		p := &f.Rollout.Portion
		if p.Kind != snapshot.PortionSchedule || f.Killed || !f.Enabled || len(f.Rules) > 0 || f.ReleaseRing >= 0 {
			continue
		}
		checked++
		had := make([]bool, len(pop))
		for _, step := range p.Steps {
			at := time.UnixMilli(step.At)
			count := 0
			for i, ctx := range pop {
				on := e.Evaluate(f.Key, ctx, at).Variant == f.Variants[f.Rollout.Variant].Name
				if had[i] && !on {
					t.Fatalf("%s: user %d lost the feature at %s", f.Key, i, at.UTC())
				}
				had[i] = on
				if on {
					count++
				}
			}
			want := snapshot.PercentageOf(step.Threshold)
			got := float64(count) / float64(len(pop)) * 100
			// Binomial standard deviation at n = 20000 is at most 0.35 points; allow 4 sigma.
			if tolerance := 4 * math.Sqrt(want*(100-want)/float64(len(pop))); math.Abs(got-want) > tolerance+0.01 {
				t.Errorf("%s at %s: %.2f%% of users, the schedule says %.4g%%", f.Key, at.UTC(), got, want)
			}
		}
	}
	if checked < 3 {
		t.Fatalf("only %d example flags with a plain schedule (aggressive, conservative, emergency expected)", checked)
	}
}
