package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliEvil holds what an attacker puts in a file name, a flag file or a store value to
// take a terminal over: an ESC sequence (clear the screen), BEL, CR (rewrite the line)
// and a right-to-left override.
const cliEvil = "\x1b[2J\a\r\u202e"

// cliEvilEscaped is cliEvil as the CLI must print it.
const cliEvilEscaped = `\x1b[2J\x07\x0d\u202e`

// testCLIEscapes runs each command that echoes file names, flag files or store values
// on a workspace whose names and values hold cliEvil: the output shows them escaped, and
// holds no raw control character but newlines and tabs.
func testCLIEscapes(t *testing.T, bin *cliBinary) {
	work := cliExampleFlags(t)
	// A flag file whose name and free text hold control characters.
	evilFile := filepath.Join(work, "flags", "checkout", "evil"+cliEvil+".yaml")
	flag := `kind: Flag
key: evil-flag
description: "desc \e[2J\a\r\u202e"
owner: "owner \e[2J\a\r\u202e"
lifecycle: temporary
created: 2026-11-01
expires: 2026-11-02
type: boolean
offVariant: off
defaultVariant: off
rollout: { variant: on, percentage: 10 }
`
	if err := os.WriteFile(evilFile, []byte(flag), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(work, "store")
	env := cliRun{dir: work, env: []string{"SOURCE_DATE_EPOCH=1764547200"}}
	bin.runWith(t, env, "compile", "-o", "before", "--revision", "r1").expectCode(t, 0)
	// A revision (a store value once published) holding the same characters.
	bin.runWith(t, env, "compile", "-o", "after", "--revision", "r2"+cliEvil).expectCode(t, 0)

	evilSnap := filepath.Join(work, "evil"+cliEvil+".snap")
	data, err := os.ReadFile(filepath.Join(work, "after", "production.snap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evilSnap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Two publishes (here and in the table), so that rollback returns to revision r4….
	bin.runWith(t, env, "publish", "--store", store, "--revision", "r4"+cliEvil).expectCode(t, 0)

	tests := []struct {
		name string
		args []string
		json bool // the output is JSON: control characters are JSON escapes, U+202E \u202e
	}{
		{name: "check", args: []string{"check", "--now", "2026-11-01T12:00:00Z"}},
		{name: "lint", args: []string{"lint", "--now", "2026-12-20T12:00:00Z"}},
		{name: "inspect", args: []string{"inspect", "after/production.snap"}, json: true},
		{name: "inspect file name", args: []string{"inspect", evilSnap + ".missing"}},
		{name: "diff", args: []string{"diff", "before/production.snap", evilSnap}},
		{name: "explain", args: []string{"explain", "evil-flag", "--snapshot", evilSnap, "--ctx", `{"userId":"u1"}`}},
		{name: "compile", args: []string{"compile", "-o", "out", "--revision", "r3" + cliEvil}},
		{name: "publish", args: []string{"publish", "--store", store, "--revision", "r5" + cliEvil}},
		{name: "rollback", args: []string{"rollback", "--store", store, "--env", "production"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := bin.runWith(t, env, tc.args...)
			out := res.stdout + res.stderr
			cliExpectEscaped(t, tc.args, out, tc.json)
		})
	}
}

// cliExpectEscaped fails unless out shows cliEvil escaped at least once and holds no raw
// control character but newline and tab.
func cliExpectEscaped(t *testing.T, args []string, out string, json bool) {
	t.Helper()
	want := cliEvilEscaped
	if json {
		want = `\u001b[2J\u0007\r\u202e`
	}
	if !strings.Contains(out, want) {
		t.Errorf("edgeflag %q: the output does not show %s escaped:\n%.2000q", args, want, out)
	}
	for _, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == '\u202e' {
			t.Errorf("edgeflag %q: raw %U in the output:\n%.2000q", args, r, out)
			return
		}
	}
}
