package tests

import (
	"path/filepath"
	"strings"
	"testing"
)

func testCLIValidate(t *testing.T, bin *cliBinary) {
	t.Run("example flags", func(t *testing.T) {
		work := cliExampleFlags(t)
		res := bin.run(t, work, "validate")
		res.expectCode(t, 0)
		cliGolden(t, "validate", res.stdout)

		res = bin.run(t, work, "validate", "flags", "--json")
		res.expectCode(t, 0)
		var out struct {
			Valid        bool
			Environments []string
			Flags        int
			Errors       []any
		}
		res.decodeJSON(t, &out)
		if !out.Valid || out.Flags == 0 || len(out.Errors) != 0 || len(out.Environments) == 0 {
			t.Errorf("validate --json: %+v", out)
		}
	})
	t.Run("broken files", func(t *testing.T) {
		work := cliWorkspace(t, filepath.Join("testdata", "cli", "broken", "flags"))
		res := bin.run(t, work, "validate")
		res.expectCode(t, 1)
		if res.stdout != "" {
			t.Errorf("errors went to stdout:\n%s", res.stdout)
		}
		// Every error names file:line (and the column when the parser knows it).
		for _, want := range []string{
			"flags/broken-yaml.yaml:6:1: invalid YAML",
			"flags/unknown-segment.yaml:6:22: rules[0].when.segment: unknown segment \"no-such-segment\"",
			"flags: 2 errors",
		} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
			}
		}
		cliGolden(t, "validate-broken", res.stderr)

		res = bin.run(t, work, "validate", "--json")
		res.expectCode(t, 1)
		var out struct {
			Valid  bool
			Errors []struct {
				File         string
				Line, Column int
				Path         string
				Message      string
			}
		}
		res.decodeJSON(t, &out)
		if out.Valid || len(out.Errors) != 2 {
			t.Fatalf("validate --json: %+v", out)
		}
		if e := out.Errors[1]; e.File != "flags/unknown-segment.yaml" || e.Line != 6 || e.Column != 22 || e.Path != "rules[0].when.segment" {
			t.Errorf("second error: %+v", e)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		res := bin.run(t, t.TempDir(), "validate", "nowhere")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "nowhere") {
			t.Errorf("stderr does not name the directory:\n%s", res.stderr)
		}
	})
}
