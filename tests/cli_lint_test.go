package tests

import (
	"path/filepath"
	"strings"
	"testing"
)

func testCLILint(t *testing.T, bin *cliBinary) {
	t.Run("example flags", func(t *testing.T) {
		work := cliExampleFlags(t)
		res := bin.run(t, work, "lint", "--now", "2026-11-26")
		res.expectCode(t, 0)
		cliGolden(t, "lint-today", res.stdout)
		// Two months later the schedules have finished and expiry dates have passed.
		res = bin.run(t, work, "lint", "--now", "2027-01-20")
		res.expectCode(t, 1)
		cliGolden(t, "lint-later", res.stdout)
	})
	t.Run("stale flags from schedules", func(t *testing.T) {
		work := cliWorkspace(t, filepath.Join("testdata", "cli", "stale", "flags"))
		res := bin.run(t, work, "lint", "--now", "2026-11-26")
		res.expectCode(t, 1)
		cliGolden(t, "lint-stale", res.stdout)
		// A longer grace period forgives the schedule that finished 24 days ago.
		res = bin.run(t, work, "lint", "--now", "2026-11-26", "--stale-after", "4w")
		if strings.Contains(res.stdout, "search-v2") {
			t.Errorf("--stale-after 4w still reports search-v2:\n%s", res.stdout)
		}
	})
	t.Run("stale flags from git history", func(t *testing.T) {
		cliRequireGit(t)
		work := cliWorkspace(t, filepath.Join("testdata", "cli", "stale", "flags"))
		cliGit(t, work, "2026-10-01T09:00:00Z", "init", "-q")
		cliGit(t, work, "2026-10-01T09:00:00Z", "add", "flags")
		cliGit(t, work, "2026-10-01T09:00:00Z", "commit", "-q", "-m", "flags")
		res := bin.run(t, work, "lint", "--now", "2026-11-26", "--json")
		res.expectCode(t, 1)
		var findings []struct {
			Flag, Kind, Variant, Since, Remove, File string
			Line                                     int
		}
		res.decodeJSON(t, &findings)
		got := map[string]string{}
		for _, f := range findings {
			got[f.Flag+" "+f.Kind] = f.Variant + " since " + f.Since
			if f.Remove == "" || f.File == "" || f.Line == 0 {
				t.Errorf("finding without position or removal: %+v", f)
			}
		}
		want := map[string]string{
			"expired-experiment expired": " since ",
			"never-shipped stale":        "off since 2026-10-01T09:00:00Z",
			"old-banner stale":           "on since 2026-10-01T09:00:00Z",
			"search-v2 stale":            "on since 2026-11-01T09:00:00Z",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q", k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("findings %v, want %v", got, want)
		}
		for _, f := range findings {
			if f.Flag == "never-shipped" && !strings.Contains(f.Remove, "keeping the code path for off and deleting the path for on") {
				t.Errorf("never-shipped removal: %s", f.Remove)
			}
		}
		// A recent edit restarts the clock: the file changed 5 days ago.
		cliEdit(t, filepath.Join(work, "flags", "old-banner.yaml"), "owner: growth-team@company.com", "owner: web-team@company.com")
		cliGit(t, work, "2026-11-21T09:00:00Z", "commit", "-q", "-a", "-m", "new owner")
		res = bin.run(t, work, "lint", "--now", "2026-11-26")
		if strings.Contains(res.stdout, "old-banner") {
			t.Errorf("old-banner changed 5 days ago, yet it is reported:\n%s", res.stdout)
		}
		// Without the history, nothing tells how long old-banner has been at 100%.
		res = bin.run(t, work, "lint", "--now", "2026-11-26", "--no-git")
		if strings.Contains(res.stdout, "never-shipped") {
			t.Errorf("--no-git still uses the history:\n%s", res.stdout)
		}
	})
	t.Run("broken files", func(t *testing.T) {
		work := cliWorkspace(t, filepath.Join("testdata", "cli", "broken", "flags"))
		res := bin.run(t, work, "lint")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "unknown-segment.yaml:6:22") {
			t.Errorf("stderr: %s", res.stderr)
		}
	})
}
