package tests

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	editorCheckOnce sync.Once
	editorCheckErr  error
)

// editorCheck runs schema/editorcheck/check.js (what `make schema-editor-check` runs) in
// the repository root with args, installing its pinned npm packages first. It returns the
// output lines and the exit code.
func editorCheck(t *testing.T, args ...string) ([]string, int) {
	t.Helper()
	if os.Getenv("EDGEFLAG_SKIP_EDGE") == "1" {
		t.Skip("EDGEFLAG_SKIP_EDGE=1: skipping the Node.js tests")
	}
	root := edgeRoot(t)
	editorCheckOnce.Do(func() {
		cmd := exec.Command("bash", "scripts/install-schema-editorcheck.sh")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			editorCheckErr = errors.New("scripts/install-schema-editorcheck.sh: " + err.Error() + "\n" + string(out))
		}
	})
	if editorCheckErr != nil {
		t.Fatal(editorCheckErr)
	}
	cmd := exec.Command("node", append([]string{"schema/editorcheck/check.js"}, args...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("node check.js: %v\n%s", err, out)
		}
		code = exit.ExitCode()
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n"), code
}

// TestSchemaEditorCheckLog holds the log of the editor check to what it means: in a
// passing run the diagnostics of the broken fixtures are marked as expected and nothing
// reads as an error; in a failing run the failures say "error:".
func TestSchemaEditorCheckLog(t *testing.T) {
	broken, err := filepath.Glob(filepath.Join(edgeRoot(t), "compiler/testdata/broken/schema/*.yaml"))
	if err != nil || len(broken) == 0 {
		t.Fatalf("no broken schema fixtures: %v", err)
	}
	for i, b := range broken {
		broken[i], _ = filepath.Rel(edgeRoot(t), b)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		prefixes []string // every line starts with one of these
		last     string   // in the last line
	}{
		{"broken fixtures rejected", append([]string{"--invalid"}, broken...), 0,
			[]string{"expected: ", "ok: "}, "broken fixtures rejected as expected"},
		{"good files accepted", []string{"--valid", "flags/project.yaml", "compiler/testdata/good/project.yaml"}, 0,
			[]string{"ok: "}, "ok: 2 valid files, no diagnostics"},
		{"a good file passed as broken", []string{"--invalid", "flags/project.yaml"}, 1,
			[]string{"error: ", "FAIL: "}, "FAIL: 1 of 1 broken fixtures were not rejected"},
		{"a broken file passed as valid", []string{"--valid", broken[0]}, 1,
			[]string{"error: ", "FAIL: "}, "FAIL: 1 of 1 valid files have diagnostics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, code := editorCheck(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d:\n%s", code, tt.code, strings.Join(lines, "\n"))
			}
			for _, l := range lines {
				ok := false
				for _, p := range tt.prefixes {
					ok = ok || strings.HasPrefix(l, p)
				}
				if !ok {
					t.Errorf("line %q starts with none of %q", l, tt.prefixes)
				}
				if tt.code == 0 && strings.Contains(strings.ToLower(l), "error") && !strings.HasPrefix(l, "expected: ") {
					t.Errorf("a passing run reads as an error: %q", l)
				}
			}
			if last := lines[len(lines)-1]; !strings.Contains(last, tt.last) {
				t.Errorf("last line %q, want it to contain %q", last, tt.last)
			}
		})
	}
}
