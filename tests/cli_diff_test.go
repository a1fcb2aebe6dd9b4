package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
)

// cliEdit replaces old with new in a file, failing when old is not there.
func cliEdit(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cliReleaseChanges makes the changes of a typical release review: the search algorithm
// moves from the canary to the early majority, the weather widget is killed, the new
// checkout goes from 25% to 50% in production only, and a segment changes.
func cliReleaseChanges(t *testing.T, work string) {
	t.Helper()
	flags := filepath.Join(work, "flags")
	cliEdit(t, filepath.Join(flags, "search", "new-search-algorithm.yaml"),
		"release: { ring: canary, variant: on }", "release: { ring: early-majority, variant: on }")
	cliEdit(t, filepath.Join(flags, "dashboard", "weather-widget.yaml"), "killed: false", "killed: true")
	cliEdit(t, filepath.Join(flags, "checkout", "new-checkout-flow.yaml"),
		"rollout: { variant: on, percentage: 25 }", "rollout: { variant: on, percentage: 50 }")
	cliEdit(t, filepath.Join(flags, "segments", "internal-employees.yaml"), `value: "@company.com"`, `values: ["@company.com", "@company.io"]`)
}

type cliDiffJSON struct {
	From, To     struct{ Label, Revision string }
	Environments []string
	Changes      []struct {
		Flag, Segment, Kind, Summary string
		Environments                 []string
	}
}

func testCLIDiff(t *testing.T, bin *cliBinary) {
	t.Run("two snapshots", func(t *testing.T) {
		work := cliExampleFlags(t)
		env := cliRun{dir: work, env: []string{"SOURCE_DATE_EPOCH=1764547200"}}
		bin.runWith(t, env, "compile", "-o", "before", "--revision", "r1").expectCode(t, 0)
		cliReleaseChanges(t, work)
		bin.runWith(t, env, "compile", "-o", "after", "--revision", "r2").expectCode(t, 0)

		res := bin.run(t, work, "diff", "before/production.snap", "after/production.snap")
		res.expectCode(t, 0)
		cliGolden(t, "diff-snapshots", res.stdout)

		res = bin.run(t, work, "diff", "before/staging.snap", "after/staging.snap", "--json")
		res.expectCode(t, 0)
		var out cliDiffJSON
		res.decodeJSON(t, &out)
		if out.From.Revision != "r1" || out.To.Revision != "r2" || len(out.Changes) == 0 {
			t.Fatalf("diff --json: %+v", out)
		}
		for _, c := range out.Changes {
			if c.Flag == "new-checkout-flow" {
				t.Errorf("staging overrides the checkout rollout, yet it shows a change: %+v", c)
			}
		}
		// Identical snapshots: no changes; --exit-code reports changes with 1.
		res = bin.run(t, work, "diff", "after/production.snap", "after/production.snap", "--exit-code")
		res.expectCode(t, 0)
		if !strings.HasSuffix(res.stdout, "no changes\n") {
			t.Errorf("stdout:\n%s", res.stdout)
		}
		bin.run(t, work, "diff", "before/production.snap", "after/production.snap", "--exit-code").expectCode(t, 1)
	})
	t.Run("two commits", func(t *testing.T) {
		cliRequireGit(t)
		work := cliExampleFlags(t)
		cliGit(t, work, "2026-11-23T09:00:00Z", "init", "-q")
		cliGit(t, work, "2026-11-23T09:00:00Z", "add", "flags")
		cliGit(t, work, "2026-11-23T09:00:00Z", "commit", "-q", "-m", "canary")
		cliReleaseChanges(t, work)
		cliGit(t, work, "2026-11-25T10:00:00Z", "commit", "-q", "-a", "-m", "early majority")

		res := bin.run(t, work, "diff", "HEAD~1", "HEAD")
		res.expectCode(t, 0)
		// The first line names the commits, whose hashes vary with git versions' defaults.
		lines := strings.SplitN(res.stdout, "\n", 2)
		if !strings.HasPrefix(lines[0], "flags at HEAD~1 (") || !strings.Contains(lines[0], "→ flags at HEAD (") {
			t.Errorf("header: %q", lines[0])
		}
		cliGolden(t, "diff-commits", lines[1])
		for _, want := range []string{
			"new-search-algorithm (production): ring canary → early-majority, 5% → 25%",
			"weather-widget: killed",
		} {
			if !strings.Contains(res.stdout, want+"\n") {
				t.Errorf("diff lacks %q:\n%s", want, res.stdout)
			}
		}

		res = bin.run(t, work, "diff", "HEAD~1", "HEAD", "--json")
		res.expectCode(t, 0)
		var out cliDiffJSON
		res.decodeJSON(t, &out)
		head := cliGit(t, work, "2026-11-25T10:00:00Z", "rev-parse", "HEAD")
		if out.To.Revision != head || len(out.Environments) != 2 {
			t.Errorf("diff --json sides: %+v %v", out.To, out.Environments)
		}
		found := false
		for _, c := range out.Changes {
			if c.Flag == "weather-widget" && c.Kind == "killed" && len(c.Environments) == 2 {
				found = true
			}
		}
		if !found {
			t.Errorf("no kill of weather-widget in both environments: %+v", out.Changes)
		}

		// One revision: compared with the working tree.
		cliEdit(t, filepath.Join(work, "flags", "dashboard", "weather-widget.yaml"), "killed: true", "killed: false")
		res = bin.run(t, work, "diff", "HEAD")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "flags (working tree)") || !strings.Contains(res.stdout, "weather-widget: revived") {
			t.Errorf("diff HEAD:\n%s", res.stdout)
		}

		// A revision whose files do not validate: the problems name the files in the repository.
		cliWriteFile(t, work, "flags/search/broken.yaml", "kind: Flag\nkey: broken\ntype: boolean\nrelease: { ring: nowhere, variant: on }\n")
		cliGit(t, work, "2026-11-26T10:00:00Z", "add", "flags")
		cliGit(t, work, "2026-11-26T10:00:00Z", "commit", "-q", "-m", "broken")
		res = bin.run(t, work, "diff", "HEAD~1", "HEAD")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "flags at HEAD:\nflags/search/broken.yaml:4:18: release.ring: unknown ring \"nowhere\"") {
			t.Errorf("stderr:\n%s", res.stderr)
		}

		res = bin.run(t, work, "diff", "no-such-branch", "HEAD")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, `neither a snapshot file nor a git revision`) {
			t.Errorf("stderr: %s", res.stderr)
		}
	})
	t.Run("outside git", func(t *testing.T) {
		work := cliExampleFlags(t)
		res := bin.run(t, work, "diff", "HEAD~1", "HEAD")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "not in a git repository") {
			t.Errorf("stderr: %s", res.stderr)
		}
	})
	t.Run("served by a store", func(t *testing.T) {
		work := cliExampleFlags(t)
		env := cliRun{dir: work, env: []string{"SOURCE_DATE_EPOCH=1764547200"}}
		bin.runWith(t, env, "publish", "--store", "st", "--revision", "r1").expectCode(t, 0)

		res := bin.run(t, work, "diff", "--store", "st")
		res.expectCode(t, 0)
		if res.stdout != "flags (working tree) → served by st\nno changes\n" {
			t.Errorf("diff --store before a kill:\n%s", res.stdout)
		}
		// A kill through the kill-switch API's code path: the store changes, flags/ does not.
		st, err := store.Open(context.Background(), filepath.Join(work, "st"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := publish.New(st).Kill(context.Background(), "production", "new-search-algorithm", "trying", "test"); err != nil {
			t.Fatal(err)
		}
		res = bin.run(t, work, "diff", "--store", "st")
		res.expectCode(t, 0)
		want := "flags (working tree) → served by st\nnew-search-algorithm (production): killed\n1 flag changed\n"
		if res.stdout != want {
			t.Errorf("diff --store after a kill:\n%s\nwant:\n%s", res.stdout, want)
		}
		res = bin.run(t, work, "diff", "--store", "st", "--env", "production", "--json")
		res.expectCode(t, 0)
		var out cliDiffJSON
		res.decodeJSON(t, &out)
		if out.To.Revision != "r1" || len(out.Changes) != 1 || out.Changes[0].Kind != "killed" {
			t.Errorf("diff --store --json: %+v", out)
		}
		res = bin.run(t, work, "eval", "new-search-algorithm", "--store", "st", "-a", "userId=u1", "-a", "email=alice@company.com")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "new-search-algorithm  false  off      DISABLED  kill switch") {
			t.Errorf("eval --store after a kill:\n%s", res.stdout)
		}
		// The flag directory still serves it: eval without --store reads flags/.
		res = bin.run(t, work, "eval", "new-search-algorithm", "-a", "userId=u1", "-a", "email=alice@company.com")
		if !strings.Contains(res.stdout, "TARGETING_MATCH") {
			t.Errorf("eval of flags/:\n%s", res.stdout)
		}

		for _, tc := range []struct {
			args []string
			code int
			msg  string
		}{
			{[]string{"diff", "--store", "st", "HEAD", "HEAD~1"}, 2, "at most one revision"},
			{[]string{"diff", "--store", "nowhere"}, 1, "nowhere serves nothing to staging or production"},
			{[]string{"eval", "new-search-algorithm", "--store", "st", "--env", "qa"}, 1, `st serves nothing to "qa"`},
			{[]string{"eval", "new-search-algorithm", "--store", "st", "--snapshot", "x.snap"}, 2, "--snapshot or --store, not both"},
		} {
			res := bin.run(t, work, tc.args...)
			res.expectCode(t, tc.code)
			if !strings.Contains(res.stderr, tc.msg) {
				t.Errorf("%v: stderr %q, want %q", tc.args, res.stderr, tc.msg)
			}
		}
	})
}
