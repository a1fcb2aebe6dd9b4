package checklist

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/snapshot"
)

const project = `kind: Project
environments: [staging, production]
rings:
  - { name: internal, when: { attribute: email, op: endsWith, value: "@company.com" } }
  - { name: everyone, percentage: 100 }
metrics:
  error_rate:
    provider: prometheus
    kind: ratio
    numerator: sum by (variant) (rate(edgeflag_http_requests_total{flag="{{flag}}", code=~"5.."}[{{window}}]))
    denominator: sum by (variant) (rate(edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}]))
`

func load(t *testing.T, projectFile string, flags ...string) (*compiler.Project, map[string]*snapshot.Snapshot) {
	t.Helper()
	fsys := fstest.MapFS{"project.yaml": {Data: []byte(projectFile)}}
	for i, f := range flags {
		fsys[string(rune('a'+i))+".yaml"] = &fstest.MapFile{Data: []byte(f)}
	}
	p, err := compiler.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := p.BuildAll(compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p, snaps
}

var now = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

// failures lists "check:severity" of the failed items of each checked flag.
func failures(flags []Flag) map[string]string {
	out := map[string]string{}
	for _, f := range flags {
		var failed []string
		for _, r := range f.Results {
			if !r.OK {
				failed = append(failed, r.Check+":"+string(r.Severity))
			}
		}
		out[f.Key] = strings.Join(failed, " ")
	}
	return out
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		flag string
		want string // failed items, or "-" when the flag is not rolling out
	}{
		{"complete", `kind: Flag
key: f
owner: team@company.com
expires: 2027-01-31
type: boolean
offVariant: off
rollout: { variant: on, percentage: 5 }
stages:
  - { percentage: 5, duration: 30m, successCriteria: [ { metric: error_rate, threshold: "< 0.5%" } ] }
  - { percentage: 100, duration: infinity }
`, ""},
		{"nothing", `kind: Flag
key: f
type: boolean
rules: [ { name: staff, when: { attribute: email, op: endsWith, value: "@company.com" }, serve: on } ]
`, "owner:error expiry:warning successCriteria:warning rolloutPlan:error"},
		{"expired", `kind: Flag
key: f
owner: team@company.com
expires: 2026-11-01
type: boolean
release: { ring: internal, variant: on }
`, "expiry:warning successCriteria:warning"},
		{"kill switch serves the new variant", `kind: Flag
key: f
owner: team@company.com
expires: 2027-01-31
type: string
variants: { old: "a", new: "b" }
offVariant: new
defaultVariant: old
release: { ring: internal, variant: new }
`, "offVariant:error successCriteria:warning"},
		{"stage without criteria", `kind: Flag
key: f
owner: team@company.com
expires: 2027-01-31
type: boolean
rollout: { variant: on, percentage: 5 }
stages:
  - { percentage: 5, duration: 30m }
  - { percentage: 100, duration: infinity }
`, "successCriteria:warning"},
		{"ring stages", `kind: Flag
key: f
owner: team@company.com
expires: 2027-01-31
type: boolean
release: { variant: on }
stages:
  - { ring: internal, duration: 1d, successCriteria: [ { metric: error_rate, threshold: "< 0.5%" } ] }
  - { ring: everyone, duration: infinity }
`, ""},
		{"fully released", `kind: Flag
key: f
type: boolean
rollout: on
`, "-"},
		{"permanent", `kind: Flag
key: f
lifecycle: permanent
type: boolean
rollout: { variant: on, percentage: 50 }
`, "-"},
		{"schedule still to come", `kind: Flag
key: f
owner: team@company.com
expires: 2027-01-31
type: boolean
rollout: { variant: on, schedule: { steps: [ { at: 2026-12-01T00:00:00Z, percentage: 100 } ] } }
`, "successCriteria:warning"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, snaps := load(t, project, tc.flag)
			got, ok := failures(Run(p, snaps, now))["f"]
			if !ok {
				got = "-"
			}
			if got != tc.want {
				t.Errorf("failed items %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSeverities(t *testing.T) {
	relaxed := project + "checks: { owner: warning, rolloutPlan: off, expiry: error, successCriteria: off }\n"
	p, snaps := load(t, relaxed, `kind: Flag
key: f
type: boolean
rules: [ { name: staff, when: { attribute: email, op: endsWith, value: "@company.com" }, serve: on } ]
`)
	flags := Run(p, snaps, now)
	if got := failures(flags)["f"]; got != "owner:warning expiry:error" {
		t.Errorf("failed items %q", got)
	}
	if flags[0].Failed(compiler.SeverityError) != 1 || flags[0].Failed(compiler.SeverityWarning) != 1 {
		t.Errorf("Failed counts: %+v", flags[0].Results)
	}
	for _, r := range flags[0].Results {
		if r.Check == compiler.CheckRolloutPlan || r.Check == compiler.CheckSuccessCriteria {
			t.Errorf("an item set to off was checked: %+v", r)
		}
	}
}

// TestUngatedStages: stages that name no metric at all are reported at the stages key.
func TestUngatedStages(t *testing.T) {
	p, snaps := load(t, project, `kind: Flag
key: f
owner: team@company.com
expires: 2027-01-31
type: boolean
release: { variant: on }
stages:
  - { ring: internal, duration: 1d }
  - { ring: everyone, duration: infinity }
`, `kind: Flag
key: g
owner: team@company.com
expires: 2027-01-31
type: boolean
rollout: { variant: on }
stages:
  - { percentage: 5, duration: 1h, successCriteria: [ { metric: error_rate, threshold: "< 1%" } ] }
  - { percentage: 50, duration: 1h }
  - { percentage: 100, duration: infinity }
`)
	want := map[string]Result{
		"f": {Severity: compiler.SeverityWarning, Line: 7, Column: 1,
			Detail: "2 stages, and no success criterion names a metric: nothing gates this rollout, each stage is promoted when its duration is up; add successCriteria (error_rate, p99_latency, a business metric)"},
		"g": {Severity: compiler.SeverityWarning, Line: 8, Column: 5,
			Detail: "stage 2 (50%) has no success criteria: every stage but the last needs them"},
	}
	flags := Run(p, snaps, now)
	if len(flags) != 2 {
		t.Fatalf("%d flags checked, want 2", len(flags))
	}
	for _, f := range flags {
		for _, r := range f.Results {
			if r.Check != compiler.CheckSuccessCriteria {
				continue
			}
			w := want[f.Key]
			if r.OK || r.Severity != w.Severity || r.Line != w.Line || r.Column != w.Column || r.Detail != w.Detail {
				t.Errorf("%s: got %+v, want %+v", f.Key, r, w)
			}
		}
	}
}
