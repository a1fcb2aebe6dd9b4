package serving

import (
	"slices"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

var (
	all = snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
	t0  = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).UnixMilli()
	day = int64(24 * 3600_000)
)

func pct(p float64) snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(p), BucketBy: snapshot.NoIndex}
}

func schedule(steps ...snapshot.Step) snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionSchedule, Steps: steps, BucketBy: snapshot.NoIndex}
}

// flag returns an enabled boolean flag (0 off, 1 on) serving off to everyone.
func flag(key string) snapshot.Flag {
	return snapshot.Flag{Key: key, Type: snapshot.TypeBoolean, Enabled: true,
		Variants:    []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
		ReleaseRing: snapshot.NoIndex, Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Portion: all}}
}

func snap(flags ...snapshot.Flag) *snapshot.Snapshot {
	return &snapshot.Snapshot{Attributes: []string{"userId"}, Flags: flags}
}

var someone = &snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{Op: snapshot.OpPresent}}

func TestVariants(t *testing.T) {
	tests := []struct {
		name string
		f    func() snapshot.Flag
		want []int
	}{
		{"default only", func() snapshot.Flag { return flag("a") }, []int{0}},
		{"rollout to everyone", func() snapshot.Flag {
			f := flag("a")
			f.Rollout.Variant = 1
			return f
		}, []int{1}},
		{"percentage", func() snapshot.Flag {
			f := flag("a")
			f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(25)}
			return f
		}, []int{0, 1}},
		{"0% rollout", func() snapshot.Flag {
			f := flag("a")
			f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(0)}
			return f
		}, []int{0}},
		{"killed", func() snapshot.Flag {
			f := flag("a")
			f.Rollout.Variant, f.Killed = 1, true
			return f
		}, []int{0}},
		{"disabled", func() snapshot.Flag {
			f := flag("a")
			f.Rollout.Variant, f.Enabled = 1, false
			return f
		}, []int{0}},
		{"targeting rule", func() snapshot.Flag {
			f := flag("a")
			f.Rules = []snapshot.Rule{{Name: "r", When: someone, Serve: snapshot.Serve{Variant: 1, Portion: all}}}
			return f
		}, []int{0, 1}},
		{"rule for everyone hides the rest", func() snapshot.Flag {
			f := flag("a")
			f.Rules = []snapshot.Rule{{Name: "r", Serve: snapshot.Serve{Variant: 1, Portion: all}}}
			return f
		}, []int{1}},
		{"ring for everyone released", func() snapshot.Flag {
			f := flag("a")
			f.Rings = []snapshot.Ring{{Name: "staff", When: someone, Portion: all}, {Name: "everyone", Portion: pct(100)}}
			f.ReleaseRing, f.ReleaseVar = 1, 1
			return f
		}, []int{1}},
		{"inner ring released", func() snapshot.Flag {
			f := flag("a")
			f.Rings = []snapshot.Ring{{Name: "staff", When: someone, Portion: all}, {Name: "everyone", Portion: pct(100)}}
			f.ReleaseRing, f.ReleaseVar = 0, 1
			return f
		}, []int{0, 1}},
		{"split", func() snapshot.Flag {
			f := flag("a")
			f.Rollout = snapshot.Serve{Kind: snapshot.ServeSplit, Split: []snapshot.Weight{{Variant: 0, Upper: 0}, {Variant: 1, Upper: snapshot.BucketCount}}}
			return f
		}, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Variants(snap(tc.f()), 0, t0); !slices.Equal(got, tc.want) {
				t.Errorf("Variants = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPrerequisites(t *testing.T) {
	parent := flag("a")
	parent.Prerequisites = []snapshot.Prerequisite{{Flag: 1, Variant: 1}}
	parent.Rollout.Variant = 1
	child := flag("b")
	// The prerequisite serves off: a's users get its off variant.
	if got := Variants(snap(parent, child), 0, t0); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("prerequisite not met: %v", got)
	}
	child.Rollout.Variant = 1
	if got := Variants(snap(parent, child), 0, t0); !slices.Equal(got, []int{1}) {
		t.Errorf("prerequisite met everywhere: %v", got)
	}
}

func TestUniformSince(t *testing.T) {
	f := flag("a")
	f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: schedule(
		snapshot.Step{At: t0, Threshold: 100_000}, snapshot.Step{At: t0 + 10*day, Threshold: snapshot.BucketCount})}
	s := snap(f)
	if _, _, ok := Uniform(s, 0, t0+5*day); ok {
		t.Error("uniform halfway through the schedule")
	}
	v, since, ok := Uniform(s, 0, t0+30*day)
	if !ok || v != 1 || since != t0+10*day {
		t.Errorf("after the schedule: variant %d since %d ok %v, want 1 since %d", v, since, ok, t0+10*day)
	}
	v, since, ok = Uniform(s, 0, t0-day)
	if !ok || v != 0 || since != Forever {
		t.Errorf("before the schedule: variant %d since %d ok %v, want 0 since Forever", v, since, ok)
	}
	if !Pending(s, 0, t0+5*day) || Pending(s, 0, t0+30*day) {
		t.Error("Pending")
	}
	if got := ChangeTimes(s, 0); !slices.Equal(got, []int64{t0, t0 + 10*day}) {
		t.Errorf("ChangeTimes = %v", got)
	}
	// No schedule: uniform forever, as far as the snapshot can tell.
	g := flag("b")
	g.Rollout.Variant = 1
	if _, since, ok := Uniform(snap(g), 0, t0); !ok || since != Forever {
		t.Errorf("static flag: since %d ok %v", since, ok)
	}
}
