package lint

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/snapshot"
)

// load compiles flag files given by name for every environment.
func load(t *testing.T, files map[string]string) (*compiler.Project, map[string]*snapshot.Snapshot) {
	t.Helper()
	fsys := fstest.MapFS{"project.yaml": {Data: []byte("kind: Project\nenvironments: [staging, production]\n")}}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
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

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		flag       string
		lastChange string // when the file last changed in git, "" when unknown
		want       string // kind and variant of each finding, "" for none
	}{
		{"released by a schedule 25 days ago", `kind: Flag
key: f
lifecycle: temporary
type: boolean
rollout: { variant: on, schedule: { steps: [ { at: 2026-11-01T00:00:00Z, percentage: 100 } ] } }
`, "", "stale on"},
		{"released by a schedule 6 days ago", `kind: Flag
key: f
lifecycle: temporary
type: boolean
rollout: { variant: on, schedule: { steps: [ { at: 2026-11-20T00:00:00Z, percentage: 100 } ] } }
`, "", ""},
		{"edited after the schedule finished", `kind: Flag
key: f
lifecycle: temporary
type: boolean
rollout: { variant: on, schedule: { steps: [ { at: 2026-10-01T00:00:00Z, percentage: 100 } ] } }
`, "2026-11-20", ""},
		{"static, old in git", `kind: Flag
key: f
lifecycle: temporary
type: boolean
rollout: on
`, "2026-10-01", "stale on"},
		{"static, unknown history", `kind: Flag
key: f
lifecycle: temporary
type: boolean
rollout: on
`, "", ""},
		{"disabled for long: never shipped", `kind: Flag
key: f
type: boolean
enabled: false
`, "2026-09-01", "stale off"},
		{"permanent kill switch", `kind: Flag
key: f
lifecycle: permanent
type: boolean
defaultVariant: on
`, "2025-01-01", ""},
		{"still rolling out", `kind: Flag
key: f
type: boolean
rollout: { variant: on, percentage: 50 }
`, "2025-01-01", ""},
		{"expired while rolling out", `kind: Flag
key: f
type: boolean
expires: 2026-11-25
rollout: { variant: on, percentage: 50 }
`, "", "expired "},
		{"expired and stale", `kind: Flag
key: f
type: boolean
lifecycle: temporary
expires: 2026-11-01
rollout: on
`, "2026-10-01", "expired on, stale on"},
		{"different variants per environment", `kind: Flag
key: f
type: boolean
rollout: on
environments:
  staging: { rollout: off }
`, "2025-01-01", ""},
		{"same variant in every environment", `kind: Flag
key: f
type: boolean
rollout: { variant: on, percentage: 10 }
environments:
  staging: { rollout: on }
  production: { rollout: on }
`, "2025-01-01", "stale on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, snaps := load(t, map[string]string{"f.yaml": tc.flag})
			opts := Options{Now: now}
			if tc.lastChange != "" {
				changed, err := time.Parse(time.DateOnly, tc.lastChange)
				if err != nil {
					t.Fatal(err)
				}
				opts.LastChange = func(file string) (time.Time, bool) {
					if file != "f.yaml" {
						t.Errorf("LastChange(%q)", file)
					}
					return changed, true
				}
			}
			var got []string
			for _, f := range Run(p, snaps, opts) {
				got = append(got, f.Kind+" "+f.Variant)
				if f.Remove == "" || f.Line == 0 || f.File != "f.yaml" {
					t.Errorf("incomplete finding: %+v", f)
				}
			}
			if strings.Join(got, ", ") != tc.want {
				t.Errorf("findings %q, want %q", strings.Join(got, ", "), tc.want)
			}
		})
	}
}

func TestRemovalNamesTheCodePaths(t *testing.T) {
	p, snaps := load(t, map[string]string{"f.yaml": `kind: Flag
key: page-size
type: number
variants: { small: 10, medium: 20, large: 50 }
offVariant: medium
defaultVariant: medium
rollout: large
`})
	findings := Run(p, snaps, Options{Now: now, LastChange: func(string) (time.Time, bool) { return now.AddDate(0, -2, 0), true }})
	if len(findings) != 1 {
		t.Fatalf("findings: %+v", findings)
	}
	f := findings[0]
	want := "remove f.yaml and every check of page-size in the code, keeping the code path for large and deleting the path for small, medium"
	if f.Remove != want || !strings.Contains(f.Message, "has served large to everyone (100% rolled out)") {
		t.Errorf("finding: %s\nremove: %s", f.Message, f.Remove)
	}
	if !strings.HasPrefix(f.String(), "f.yaml:") {
		t.Errorf("String: %s", f.String())
	}
}
