package compiler

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden rollout plans of testdata/plan")

// TestRolloutPlanGolden compares the encoded plan of each environment of testdata/plan
// with its golden file: percentage and ring stages, every unit of threshold, overrides
// that change the variants, take an environment out of the stages, or kill the flag.
func TestRolloutPlanGolden(t *testing.T) {
	dir := filepath.Join("testdata", "plan")
	p, err := LoadFS(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range p.Environments {
		t.Run(env, func(t *testing.T) {
			plan, err := p.RolloutPlan(env)
			if err != nil {
				t.Fatal(err)
			}
			got, err := plan.Encode()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(dir, env+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plan differs from %s (go test ./compiler -run RolloutPlanGolden -update rewrites it):\n%s", golden, got)
			}
			// The same files give the same bytes, and the plan survives a round trip.
			again, _ := mustLoadDir(t, dir).RolloutPlan(env)
			if b, _ := again.Encode(); !bytes.Equal(b, got) {
				t.Error("a second load encodes differently")
			}
			back, err := rollout.DecodePlan(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, plan) {
				t.Errorf("round trip:\n%+v\nwant\n%+v", back, plan)
			}
		})
	}
}

func mustLoadDir(t *testing.T, dir string) *Project {
	t.Helper()
	p, err := LoadFS(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRolloutPlanEnvironments checks, beside the golden files, the per-environment rules
// one by one.
func TestRolloutPlanEnvironments(t *testing.T) {
	p := mustLoadDir(t, filepath.Join("testdata", "plan"))
	type want struct{ newVariant, oldVariant string }
	cases := map[string]map[string]want{
		"staging":    {"checkout-v2": {"preview", "old"}, "search-v3": {"on", "off"}},
		"production": {"checkout-v2": {"new", "old"}, "image-cdn": {"fast", "fallback"}},
	}
	for env, flags := range cases {
		plan, err := p.RolloutPlan(env)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]want{}
		for _, f := range plan.Flags {
			got[f.Flag] = want{f.NewVariant, f.OldVariant}
			if f.File != filepath.Join("flags.yaml") || f.Settings != p.Rollouts {
				t.Errorf("%s %s: file %q settings %+v", env, f.Flag, f.File, f.Settings)
			}
		}
		if !reflect.DeepEqual(got, flags) {
			t.Errorf("%s: flags %v, want %v", env, got, flags)
		}
	}
	if _, ok := mustPlan(t, p, "production").Metrics["unused"]; ok {
		t.Error("a metric no criterion names is in the plan")
	}
	if p.Rollouts != (rollout.Settings{MinSamples: 2000, Confidence: rollout.DefaultConfidence}) {
		t.Errorf("settings %+v", p.Rollouts)
	}
	if _, err := p.RolloutPlan("prod"); err == nil || !strings.Contains(err.Error(), `unknown environment "prod"`) {
		t.Errorf("unknown environment: %v", err)
	}
	if plans := p.RolloutPlans(); len(plans) != 2 || plans["staging"].Environment != "staging" {
		t.Errorf("RolloutPlans %v", plans)
	}
}

func mustPlan(t *testing.T, p *Project, env string) *rollout.Plan {
	t.Helper()
	plan, err := p.RolloutPlan(env)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestSnapshotStartsAtFirstStage: the base snapshot serves the first stage.
func TestSnapshotStartsAtFirstStage(t *testing.T) {
	p := mustLoadDir(t, filepath.Join("testdata", "plan"))
	prod, err := p.Build("production", Options{})
	if err != nil {
		t.Fatal(err)
	}
	staging, err := p.Build("staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s       *snapshot.Snapshot
		variant string
		ticks   uint32
	}{{prod, "new", 10_000}, {staging, "preview", 10_000}} {
		f := &tc.s.Flags[tc.s.FlagIndex("checkout-v2")]
		if ro := f.Rollout; f.Variants[ro.Variant].Name != tc.variant || ro.Portion.Kind != snapshot.PortionPercentage || ro.Portion.Threshold != tc.ticks {
			t.Errorf("%s: checkout-v2 rollout %+v, want %s at 1%%", tc.s.Environment, ro, tc.variant)
		}
	}
	if f := &staging.Flags[staging.FlagIndex("search-v3")]; f.ReleaseRing != 0 || f.Rings[0].Name != "internal" {
		t.Errorf("search-v3 release ring %d, want 0 (internal)", f.ReleaseRing)
	}
	if f := &staging.Flags[staging.FlagIndex("image-cdn")]; f.Rollout.Portion.Threshold != snapshot.BucketCount {
		t.Errorf("image-cdn in staging: %+v, want the override's 100%%", f.Rollout)
	}
}

// TestFingerprint: the fingerprint follows the stages and nothing else.
func TestFingerprint(t *testing.T) {
	const base = `kind: Flag
key: f
description: D
type: boolean
rollout: { variant: on }
stages:
  - percentage: 5
    duration: 30m
    successCriteria:
      - { metric: error_rate, threshold: "< 0.5%" }
      - { metric: latency, threshold: "< 500ms" }
  - { percentage: 100, duration: infinity }
`
	project := `kind: Project
environments: [production]
rings: [ { name: everyone } ]
metrics:
  error_rate: { provider: prometheus, kind: ratio, numerator: a, denominator: b }
  latency: { provider: prometheus, kind: value, unit: ms, value: v, count: c }
`
	fingerprint := func(t *testing.T, flagFile, projectFile string) string {
		t.Helper()
		p := mustLoadFS(t, map[string]string{"project.yaml": projectFile, "segments.yaml": "", "f.yaml": flagFile})
		plan := mustPlan(t, p, "production")
		if len(plan.Flags) != 1 {
			t.Fatalf("%d flag plans", len(plan.Flags))
		}
		return plan.Flags[0].Fingerprint
	}
	want := fingerprint(t, base, project)
	if len(want) != 16 || strings.Trim(want, "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q is not 16 hex digits", want)
	}
	same := map[string][2]string{
		"description":            {strings.Replace(base, "description: D", "description: E", 1), project},
		"threshold spacing":      {strings.Replace(base, `"< 0.5%"`, `"<0.5%"`, 1), project},
		"same value, other unit": {strings.Replace(base, `"< 500ms"`, `"< 0.5s"`, 1), project},
		"explicit defaults":      {strings.Replace(base, `"< 0.5%" }`, `"< 0.5%", onFail: rollback }`, 1), project},
		"rollout percentage":     {strings.Replace(base, "{ variant: on }", "{ variant: on, percentage: 5 }", 1), project},
		"offVariant":             {strings.Replace(base, "type: boolean", "type: boolean\noffVariant: off", 1), project},
		"settings":               {base, project + "rollouts: { minSamples: 10 }\n"},
		"metric queries":         {base, strings.Replace(project, "numerator: a", "numerator: x", 1)},
		"flow or block style":    {strings.Replace(base, "  - { percentage: 100, duration: infinity }", "  - percentage: 100\n    duration: infinity", 1), project},
	}
	for name, files := range same {
		if got := fingerprint(t, files[0], files[1]); got != want {
			t.Errorf("%s changes the fingerprint: %s, want %s", name, got, want)
		}
	}
	changed := map[string]string{
		"duration":       strings.Replace(base, "30m", "31m", 1),
		"percentage":     strings.Replace(base, "percentage: 5\n", "percentage: 6\n", 1),
		"threshold":      strings.Replace(base, `"< 0.5%"`, `"< 0.6%"`, 1),
		"comparison":     strings.Replace(base, `"< 0.5%"`, `"<= 0.5%"`, 1),
		"onFail":         strings.Replace(base, `"< 500ms" }`, `"< 500ms", onFail: pause }`, 1),
		"baseline":       strings.Replace(base, `"< 500ms"`, `"< baseline * 500"`, 1),
		"criteria order": strings.Replace(strings.Replace(base, "error_rate, threshold: \"< 0.5%\"", "TMP", 1), "latency, threshold: \"< 500ms\"", "error_rate, threshold: \"< 0.5%\"", 1),
		"a stage more":   strings.Replace(base, "  - { percentage: 100", "  - { percentage: 50, duration: 1h }\n  - { percentage: 100", 1),
	}
	changed["criteria order"] = strings.Replace(changed["criteria order"], "TMP", "latency, threshold: \"< 500ms\"", 1)
	seen := map[string]string{want: "base"}
	for name, f := range changed {
		got := fingerprint(t, f, project)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: fingerprint %s, the same as %s's", name, got, prev)
		}
		seen[got] = name
	}
}

// TestCriterionUnits: thresholds in the metric's unit base, or an error when the units
// do not fit.
func TestCriterionUnits(t *testing.T) {
	tests := []struct {
		unit, threshold string
		want            float64
		err             string
	}{
		{"%", "< 0.5%", 0.005, ""},
		{"%", "< 0.3%", 0.003, ""},
		{"%", "> 10%", 0.1, ""},
		{"%", "<= 100%", 1, ""},
		{"%", "<= baseline * 1.1", 1.1, ""},
		{"%", "< 0.5", 0, `threshold "< 0.5" is a plain number, but metric "m" is a percentage (unit %): write it in percent (< 0.5%), or as baseline * FACTOR`},
		{"%", "< 5ms", 0, `threshold "< 5ms" is in ms, but metric "m" is a percentage (unit %)`},
		{"%", "< 100.5%", 0, `threshold "< 100.5%" is outside 0..100%, the range of a ratio`},
		{"ms", "< 500ms", 500, ""},
		{"ms", "< 0.5s", 500, ""},
		{"ms", "< 0.0001s", 0.1, ""},
		{"ms", "< 1%", 0, `threshold "< 1%" is in %, but metric "m" is in milliseconds (unit ms): write it in ms or s (< 500ms, < 0.5s), or as baseline * FACTOR`},
		{"ms", "< 500", 0, `is a plain number, but metric "m" is in milliseconds`},
		{"s", "< 1.5s", 1.5, ""},
		{"s", "< 250ms", 0.25, ""},
		{"s", "< 2", 0, `is a plain number, but metric "m" is in seconds (unit s)`},
		{"", "> 12.5", 12.5, ""},
		{"", "> -3", -3, ""},
		{"", "> 12.5%", 0, `threshold "> 12.5%" is in %, but metric "m" is a plain number (no unit): write it as a plain number (> 12.5), or as baseline * FACTOR`},
		{"", ">= baseline * 0.95", 0.95, ""},
		{"", ">= baseline * 0", 0, `the baseline factor must be greater than 0, not 0`},
	}
	for _, tt := range tests {
		t.Run(tt.unit+" "+tt.threshold, func(t *testing.T) {
			c, err := parseThreshold(tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			got, err := criterionValue(c, "m", tt.unit)
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("got %v, %v; want error %q", got, err, tt.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case got != tt.want:
				t.Errorf("got %v (%b), want %v", got, math.Float64bits(got), tt.want)
			}
		})
	}
}
