package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type cliCheckJSON struct {
	Flags []struct {
		Flag    string
		Results []struct {
			Check, Severity, Detail string
			OK                      bool
		}
	}
	Errors, Warnings int
}

func testCLICheck(t *testing.T, bin *cliBinary) {
	t.Run("example flags", func(t *testing.T) {
		work := cliExampleFlags(t)
		res := bin.run(t, work, "check", "--now", "2026-11-26")
		res.expectCode(t, 0)
		cliGolden(t, "check", res.stdout)
	})
	t.Run("missing checklist items", func(t *testing.T) {
		work := cliWorkspace(t, filepath.Join("testdata", "cli", "checklist", "flags"))
		res := bin.run(t, work, "check", "--now", "2026-11-26")
		res.expectCode(t, 1)
		cliGolden(t, "check-missing", res.stdout)

		res = bin.run(t, work, "check", "--now", "2026-11-26", "--json")
		res.expectCode(t, 1)
		var out cliCheckJSON
		res.decodeJSON(t, &out)
		failed := map[string]string{}
		for _, f := range out.Flags {
			for _, r := range f.Results {
				if !r.OK {
					failed[f.Flag+" "+r.Check] = r.Severity
				}
			}
			if f.Flag == "fully-released" {
				t.Errorf("a flag at 100%% everywhere is not rolling out, yet it is checked")
			}
		}
		for _, k := range []string{"unowned-rollout owner", "useless-kill-switch offVariant", "no-plan rolloutPlan"} {
			if failed[k] != "error" {
				t.Errorf("%s: severity %q, want error (all failures: %v)", k, failed[k], failed)
			}
		}
		if failed["unowned-rollout expiry"] != "warning" || out.Errors != 3 {
			t.Errorf("failures %v, %d errors", failed, out.Errors)
		}
	})
	t.Run("severity from the project", func(t *testing.T) {
		work := cliWorkspace(t, filepath.Join("testdata", "cli", "checklist", "flags"))
		project := filepath.Join(work, "flags", "project.yaml")
		data, err := os.ReadFile(project)
		if err != nil {
			t.Fatal(err)
		}
		relaxed := strings.NewReplacer("offVariant: error", "offVariant: warning", "owner: error", "owner: off",
			"rolloutPlan: error", "rolloutPlan: warning").Replace(string(data))
		if err := os.WriteFile(project, []byte(relaxed), 0o644); err != nil {
			t.Fatal(err)
		}
		res := bin.run(t, work, "check", "--now", "2026-11-26", "--json")
		res.expectCode(t, 0)
		var out cliCheckJSON
		res.decodeJSON(t, &out)
		if out.Errors != 0 || out.Warnings == 0 {
			t.Errorf("relaxed checks: %d errors, %d warnings", out.Errors, out.Warnings)
		}
		for _, f := range out.Flags {
			for _, r := range f.Results {
				if r.Check == "owner" {
					t.Errorf("owner: off still reports %s: %+v", f.Flag, r)
				}
			}
		}
	})
}
