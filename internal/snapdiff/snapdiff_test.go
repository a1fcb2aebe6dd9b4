package snapdiff

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/snapview"
)

func ptr(f float64) *float64 { return &f }

// base is a view with a ring-released flag, a percentage rollout with a rule, and a
// segment.
func base() *snapview.View {
	rings := []snapview.Ring{
		{Name: "internal", When: &snapview.Condition{Segment: "staff"}},
		{Name: "canary", When: &snapview.Condition{Any: []snapview.Condition{{Segment: "beta"}, {Percentage: ptr(5)}}}},
		{Name: "early-majority", Percentage: ptr(25)},
		{Name: "everyone", Percentage: ptr(100)},
	}
	search := snapview.Flag{Key: "search", Type: "boolean", OffVariant: "off", DefaultVariant: "off", Enabled: true,
		BucketBy: "userId", Seed: 1, Variants: []snapview.Variant{{Name: "off", Value: json.RawMessage("false")}, {Name: "on", Value: json.RawMessage("true")}},
		Rings: rings, Release: &snapview.Release{Ring: "canary", Variant: "on"}, Rollout: snapview.Serve{Variant: "off"}}
	for i := range search.Rings {
		search.Rings[i].Released = i <= 1
	}
	checkout := snapview.Flag{Key: "checkout", Type: "boolean", OffVariant: "off", DefaultVariant: "off", Enabled: true,
		BucketBy: "userId", Seed: 2, Variants: []snapview.Variant{{Name: "off", Value: json.RawMessage("false")}, {Name: "on", Value: json.RawMessage("true")}},
		Rules:   []snapview.Rule{{Name: "staff", When: &snapview.Condition{Segment: "staff"}, Serve: snapview.Serve{Variant: "on"}}},
		Rollout: snapview.Serve{Variant: "on", Percentage: ptr(25)}}
	return &snapview.View{
		Segments: []snapview.Segment{{Key: "staff", When: snapview.Condition{Attribute: "email", Op: "endsWith", Value: "@company.com"}}},
		Flags:    []snapview.Flag{checkout, search},
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name   string
		before func(v *snapview.View) // changes to the old view, if any
		change func(v *snapview.View)
		want   []string // Lines for the environment "production"
	}{
		{"nothing", nil, func(v *snapview.View) {}, nil},
		{"next ring", nil, func(v *snapview.View) {
			f := v.Flag("search")
			f.Release.Ring = "early-majority"
			f.Rings[2].Released = true
		}, []string{"search (production): ring canary → early-majority, 5% → 25%"}},
		{"killed", nil, func(v *snapview.View) { v.Flag("search").Killed = true }, []string{"search (production): killed"}},
		{"revived and disabled", func(v *snapview.View) { v.Flag("search").Killed = true },
			func(v *snapview.View) { v.Flag("search").Enabled = false },
			[]string{"search (production): revived (kill switch released); disabled"}},
		{"rollout percentage", nil, func(v *snapview.View) { v.Flag("checkout").Rollout.Percentage = ptr(50) },
			[]string{"checkout (production): rollout 25% → 50%"}},
		{"rollout to everyone", nil, func(v *snapview.View) { v.Flag("checkout").Rollout.Percentage = nil },
			[]string{"checkout (production): rollout on to 25% → on"}},
		{"rule added, removed and changed", nil, func(v *snapview.View) {
			f := v.Flag("checkout")
			f.Rules[0].Serve = snapview.Serve{Variant: "on", Percentage: ptr(10)}
			f.Rules = append(f.Rules, snapview.Rule{Name: "beta", Serve: snapview.Serve{Variant: "on"}})
		}, []string{"checkout (production): rule beta added: serves on to everyone; rule staff: on → on to 10%"}},
		{"rule removed", nil, func(v *snapview.View) { v.Flag("checkout").Rules = nil },
			[]string{"checkout (production): rule staff removed"}},
		{"flag added and removed", nil, func(v *snapview.View) {
			v.Flags = v.Flags[1:]
			v.Flags = append(v.Flags, snapview.Flag{Key: "theme", Type: "string", Enabled: true, Rollout: snapview.Serve{Variant: "dark"}})
		}, []string{"checkout (production): removed", "theme (production): added: rollout dark"}},
		{"variants and defaults", nil, func(v *snapview.View) {
			f := v.Flag("checkout")
			f.Variants[1].Value = json.RawMessage(`"yes"`)
			f.Variants = append(f.Variants, snapview.Variant{Name: "maybe", Value: json.RawMessage(`"maybe"`)})
			f.DefaultVariant = "maybe"
		}, []string{`checkout (production): variant on: true → "yes"; variant maybe added ("maybe"); default variant off → maybe`}},
		{"re-bucketing", nil, func(v *snapview.View) { v.Flag("checkout").Seed = 99 },
			[]string{"checkout (production): salt changed (every user is re-bucketed)"}},
		{"segment", nil, func(v *snapview.View) { v.Segments[0].When.Value = "@company.io" },
			[]string{"segment staff (production): condition changed"}},
		{"ring ladder", nil, func(v *snapview.View) { v.Flag("search").Rings[2].Percentage = ptr(30) },
			[]string{"search (production): ring ladder: ring early-majority 25% → 30%"}},
		{"prerequisites", nil, func(v *snapview.View) {
			v.Flag("search").Prerequisites = []snapview.Prerequisite{{Flag: "checkout", Variant: "on"}}
		}, []string{"search (production): prerequisites none → checkout=on"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			if tc.before != nil {
				tc.before(a)
			}
			tc.change(b)
			changes := Compare(a, b, "production")
			got := Lines(Merge([]string{"production"}, map[string][]Change{"production": changes}), []string{"production"})
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestMergeNamesEnvironmentsOnlyWhenNeeded(t *testing.T) {
	envs := []string{"staging", "production"}
	perEnv := map[string][]Change{}
	for _, env := range envs {
		b := base()
		b.Flag("search").Killed = true
		if env == "production" {
			b.Flag("checkout").Rollout.Percentage = ptr(50)
		}
		perEnv[env] = Compare(base(), b, env)
	}
	changes := Merge(envs, perEnv)
	got := strings.Join(Lines(changes, envs), "\n")
	want := "checkout (production): rollout 25% → 50%\nsearch: killed"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if f, s := Count(changes); f != 2 || s != 0 {
		t.Errorf("Count = %d flags, %d segments", f, s)
	}
}

func ExampleCompare() {
	before := base()
	after := base()
	after.Flag("search").Release.Ring = "early-majority"
	after.Flag("search").Rings[2].Released = true
	changes := Compare(before, after, "production")
	for _, line := range Lines(changes, []string{"production"}) {
		fmt.Println(line)
	}
	// Output: search (production): ring canary → early-majority, 5% → 25%
}
