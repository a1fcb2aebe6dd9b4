//go:build unix

package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// writeProject writes the base project into a new directory and returns it.
func writeProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range baseProject {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Load reads regular files only, within a size limit, and never echoes what it read by
// mistake: each entry below would hang Load, exhaust memory or print a secret before.
func TestLoadReadsRegularFilesOnly(t *testing.T) {
	const secret = "API_KEY=sk_live_0123456789abcdefghijklmnopqrstuvwxyz SECRET=hunter2"
	outside := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(outside, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"link to /dev/zero", func(t *testing.T, p string) { must(t, os.Symlink("/dev/zero", p)) }, "a symbolic link"},
		{"link to a secret", func(t *testing.T, p string) { must(t, os.Symlink(outside, p)) }, "a symbolic link"},
		{"link inside the directory", func(t *testing.T, p string) { must(t, os.Symlink("project.yaml", p)) }, "a symbolic link"},
		{"named pipe", func(t *testing.T, p string) { must(t, syscall.Mkfifo(p, 0o644)) }, "a named pipe"},
		{"too large", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte("kind: Segment\nkey: s\n#"+strings.Repeat("x", MaxFileSize)+"\n"), 0o644))
		}, "larger than the limit of 4194304 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeProject(t)
			tc.setup(t, filepath.Join(dir, "z.yaml"))
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "z.yaml")+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q about z.yaml", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "sk_live") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}

	// A regular file that is not YAML the compiler knows: the error quotes an excerpt.
	dir := writeProject(t)
	must(t, os.WriteFile(filepath.Join(dir, "z.yaml"), []byte(secret+"\n"), 0o644))
	_, err := Load(dir)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "… (67 bytes)") {
		t.Errorf("err = %v, want a 40-byte excerpt", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"\x1b[31mred\x1b[0m", `"\x1b[31mred\x1b[0m"`},
		{strings.Repeat("é", 30), `"` + strings.Repeat("é", 20) + `"… (60 bytes)`},
		{strings.Repeat("a", 39) + "é", `"` + strings.Repeat("a", 39) + `"… (41 bytes)`},
	} {
		if got := excerpt(tc.in); got != tc.want {
			t.Errorf("excerpt(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// A file whose name holds terminal escape sequences is named escaped in errors.
func TestErrorsEscapeControlCharacters(t *testing.T) {
	dir := writeProject(t)
	name := "\x1b[2J\x1b[31mevil\rname\u009b.yaml"
	must(t, os.WriteFile(filepath.Join(dir, name), []byte("kind: Flag\nkey: \"k\x1b]0;title\x07\"\n"), 0o644))
	_, err := Load(dir)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, c := range msg {
		if c < 0x20 && c != '\n' || c == 0x7f || c >= 0x80 && c < 0xa0 {
			t.Fatalf("error holds control character %U: %q", c, msg)
		}
	}
	if !strings.Contains(msg, `\x1b[2J\x1b[31mevil\x0dname\u009b.yaml:`) {
		t.Errorf("error %q does not name the file escaped", msg)
	}
}
