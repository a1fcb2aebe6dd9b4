package snapshot

import (
	"slices"
	"testing"
)

func TestFlagReads(t *testing.T) {
	all := Portion{Kind: PortionAll, BucketBy: NoIndex}
	clause := func(a int, relative bool) *Condition {
		return &Condition{Kind: CondClause, Clause: Clause{Attribute: a, Op: OpPresent, Relative: relative}}
	}
	flag := func(key string, f Flag) Flag {
		f.Key, f.Type, f.Enabled = key, TypeBoolean, true
		f.Variants = []Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}}
		if f.Rollout.Portion.Kind == PortionAll && f.Rollout.Portion.BucketBy == 0 {
			f.Rollout.Portion = all
		}
		if f.ReleaseRing == 0 && len(f.Rings) == 0 {
			f.ReleaseRing = NoIndex
		}
		return f
	}
	s := &Snapshot{
		Attributes: []string{"a0", "a1", "a2", "a3", "a4", "a5"},
		Segments:   []Segment{{Key: "seg", When: Condition{Kind: CondAny, Children: []Condition{*clause(3, false), {Kind: CondPercentage, Portion: Portion{Kind: PortionPercentage, Threshold: 10, BucketBy: NoIndex}}}}}},
	}
	s.Flags = []Flag{
		flag("static", Flag{BucketBy: 0}),
		flag("percentage", Flag{BucketBy: 0, Rollout: Serve{Portion: Portion{Kind: PortionPercentage, Threshold: 5, BucketBy: NoIndex}}}),
		flag("split-own-bucket", Flag{BucketBy: 0, Rollout: Serve{Kind: ServeSplit, Portion: Portion{BucketBy: 4}, Split: []Weight{{Upper: BucketCount}}}}),
		flag("rule-segment", Flag{BucketBy: 5, Rules: []Rule{{When: &Condition{Kind: CondSegment, Segment: 0}, Serve: Serve{Variant: 1, Portion: all}}}}),
		flag("schedule", Flag{BucketBy: 1, Rollout: Serve{Portion: Portion{Kind: PortionSchedule, Steps: []Step{{At: 1, Threshold: 1}}, BucketBy: NoIndex}}}),
		flag("relative", Flag{BucketBy: 0, Rules: []Rule{{When: clause(2, true), Serve: Serve{Portion: all}}}}),
		flag("rings", Flag{BucketBy: 0, ReleaseRing: 0, Rings: []Ring{{When: clause(1, false), Portion: all}, {When: clause(2, false), Portion: all}}}),
		flag("prerequisite", Flag{BucketBy: 0, Prerequisites: []Prerequisite{{Flag: 5, Variant: 1}}}),
		flag("killed", Flag{BucketBy: 0, Killed: true, Rules: []Rule{{When: clause(1, false), Serve: Serve{Portion: all}}}}),
	}
	want := map[string]Reads{
		"static":           {},
		"percentage":       {Attributes: []int{0}},
		"split-own-bucket": {Attributes: []int{4}},
		"rule-segment":     {Attributes: []int{3, 5}}, // the segment's percentage buckets by the flag's attribute
		"schedule":         {Attributes: []int{1}, Time: true},
		"relative":         {Attributes: []int{2}, Time: true},
		"rings":            {Attributes: []int{1}}, // the ring after the release ring is never reached
		"prerequisite":     {Attributes: []int{2}, Time: true},
		"killed":           {},
	}
	reads := s.FlagReads()
	for i, f := range s.Flags {
		got := reads[i]
		slices.Sort(got.Attributes)
		if w := want[f.Key]; !slices.Equal(got.Attributes, w.Attributes) || got.Time != w.Time {
			t.Errorf("%s reads %+v, want %+v", f.Key, got, w)
		}
	}
}
