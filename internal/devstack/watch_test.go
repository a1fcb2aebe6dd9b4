package devstack

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeFile writes name below dir, creating directories.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyFlags copies the repository's example flags into a new directory.
func copyFlags(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "flags")
	err := filepath.WalkDir("../../flags", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../../flags", path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "project.yaml", "kind: Project\n")
	writeFile(t, dir, "a/flag.yml", "kind: Flag\n")
	base := scan(dir)
	if base.problem != "" || len(base.files) != 2 || base.newest == 0 {
		t.Fatalf("scan: %+v", base)
	}
	past := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		change  func()
		changed bool
	}{
		{"nothing", func() {}, false},
		{"a file that is not YAML", func() { writeFile(t, dir, "README.md", "notes") }, false},
		{"a YAML file in a dot directory", func() { writeFile(t, dir, ".git/x.yaml", "x") }, false},
		{"new content of the same size", func() {
			writeFile(t, dir, "a/flag.yml", "kind: Flax\n")
			os.Chtimes(filepath.Join(dir, "a/flag.yml"), past, past) // only the mtime says so
		}, true},
		{"a new file", func() { writeFile(t, dir, "b.yaml", "kind: Segment\n") }, true},
		{"a removed file", func() { os.Remove(filepath.Join(dir, "b.yaml")) }, true},
		{"a longer file", func() { writeFile(t, dir, "project.yaml", "kind: Project\n# more\n") }, true},
	}
	prev := base
	for _, tc := range tests {
		tc.change()
		now := scan(dir)
		if changed := !now.equal(prev); changed != tc.changed {
			t.Errorf("%s: changed %v, want %v", tc.name, changed, tc.changed)
		}
		prev = now
	}
	if fp := scan(filepath.Join(dir, "missing")); fp.problem == "" || fp.equal(base) {
		t.Errorf("a missing directory: %+v", fp)
	}
}

func TestCompile(t *testing.T) {
	dir := copyFlags(t)
	b := compile(dir, "dev", 1764547200)
	if len(b.problems) > 0 {
		t.Fatalf("the example flags: %v", b.problems)
	}
	if strings.Join(b.environments, ",") != "staging,production" || len(b.snapshots) != 2 || len(b.flags) == 0 {
		t.Fatalf("build: environments %v, %d snapshots, %d flags", b.environments, len(b.snapshots), len(b.flags))
	}
	again := compile(dir, "dev", 1764547200)
	if string(again.snapshots[1]) != string(b.snapshots[1]) {
		t.Error("the same files and build time compiled to other bytes")
	}

	writeFile(t, dir, "search/broken.yaml", "kind: Flag\nkey: broken\n  type: boolean\n")
	b = compile(dir, "dev", 1764547200)
	if len(b.problems) == 0 || b.snapshots != nil {
		t.Fatalf("broken file: %+v", b)
	}
	if !regexp.MustCompile(`search/broken\.yaml:\d+`).MatchString(b.problems.Error()) {
		t.Errorf("the problem does not name the file and line: %v", b.problems)
	}
	if b := compile(filepath.Join(dir, "missing"), "dev", 0); len(b.problems) != 1 {
		t.Errorf("missing directory: %+v", b.problems)
	}
}
