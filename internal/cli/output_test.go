package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOutputKeepsOwnColourEscapesInput: with colour on, the CLI's own colour codes reach
// the terminal as they are, and control characters of input (here a directory name) are
// escaped.
func TestOutputKeepsOwnColourEscapesInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "flags\x1b[2J\u202e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	project := "kind: Project\nenvironments: [production]\n"
	if err := os.WriteFile(filepath.Join(dir, "project.yaml"), []byte(project), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: func() time.Time { return now }, Color: true}
	if code := Run(env, []string{"validate", dir}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "\x1b[32mvalid\x1b[0m") {
		t.Errorf("no green \"valid\": %q", out)
	}
	if !strings.Contains(out, `flags\x1b[2J\u202e`) || strings.Contains(out, "\x1b[2J") {
		t.Errorf("the directory name is not escaped: %q", out)
	}
}
