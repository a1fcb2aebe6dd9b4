package gitsrc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repo creates a git repository with flags/a.yaml committed at 2026-10-01 and
// flags/b.yaml changed at 2026-11-01.
func repo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	git := func(date string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
			"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("2026-10-01T09:00:00Z", "init", "-q")
	write("flags/a.yaml", "a: 1\n")
	write("flags/sub/b.yaml", "b: 1\n")
	write("README", "outside flags\n")
	git("2026-10-01T09:00:00Z", "add", ".")
	git("2026-10-01T09:00:00Z", "commit", "-q", "-m", "one")
	write("flags/sub/b.yaml", "b: 2\n")
	git("2026-11-01T09:00:00Z", "commit", "-q", "-a", "-m", "two")
	return dir
}

func TestRepo(t *testing.T) {
	dir := repo(t)
	flags := filepath.Join(dir, "flags")
	r, err := Open(flags)
	if err != nil {
		t.Fatal(err)
	}
	if r.Prefix != "flags/" {
		t.Errorf("Prefix = %q", r.Prefix)
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Hash) < 40 || !head.Time.Equal(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("Head = %+v", head)
	}
	prev, err := r.Resolve("HEAD~1")
	if err != nil || prev.Hash == head.Hash {
		t.Errorf("Resolve(HEAD~1) = %+v, %v", prev, err)
	}
	for _, bad := range []string{"no-such-branch", "--all", "HEAD~5"} {
		if _, err := r.Resolve(bad); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
	}

	c, ok, err := r.LastChange(filepath.Join(flags, "a.yaml"))
	if err != nil || !ok || !c.Time.Equal(time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("LastChange(a.yaml) = %+v %v %v", c, ok, err)
	}
	c, ok, _ = r.LastChange(filepath.Join(flags, "sub", "b.yaml"))
	if !ok || c.Hash != head.Hash {
		t.Errorf("LastChange(b.yaml) = %+v %v", c, ok)
	}
	if _, ok, err := r.LastChange(filepath.Join(flags, "new.yaml")); ok || err != nil {
		t.Errorf("LastChange of an untracked file: %v %v", ok, err)
	}

	if dirty, err := r.Dirty(); err != nil || dirty {
		t.Errorf("Dirty = %v %v on a clean tree", dirty, err)
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("changed outside flags\n"), 0o644)
	if dirty, _ := r.Dirty(); dirty {
		t.Error("a change outside the directory makes it dirty")
	}
	os.WriteFile(filepath.Join(flags, "new.yaml"), []byte("x\n"), 0o644)
	if dirty, _ := r.Dirty(); !dirty {
		t.Error("an untracked file does not make the directory dirty")
	}
}

func TestExport(t *testing.T) {
	dir := repo(t)
	r, err := Open(filepath.Join(dir, "flags"))
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	out, err := r.Export("HEAD~1", dest)
	if err != nil {
		t.Fatal(err)
	}
	if out != filepath.Join(dest, "flags") {
		t.Errorf("Export returned %s", out)
	}
	data, err := os.ReadFile(filepath.Join(out, "sub", "b.yaml"))
	if err != nil || string(data) != "b: 1\n" {
		t.Errorf("b.yaml at HEAD~1: %q %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dest, "README")); !os.IsNotExist(err) {
		t.Error("Export wrote files outside the directory")
	}
	if _, err := r.Export("no-such-branch", t.TempDir()); err == nil {
		t.Error("Export of an unknown revision succeeded")
	}
	// A directory that did not exist yet at a revision.
	os.MkdirAll(filepath.Join(dir, "later"), 0o755)
	os.WriteFile(filepath.Join(dir, "later", "c.yaml"), []byte("c\n"), 0o644)
	lr, err := Open(filepath.Join(dir, "later"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lr.Export("HEAD", t.TempDir()); err == nil || !strings.Contains(err.Error(), "does not exist at revision HEAD") {
		t.Errorf("Export of a missing directory: %v", err)
	}
}

func TestOpenOutsideRepository(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepository) {
		t.Errorf("Open outside a repository: %v", err)
	}
}
