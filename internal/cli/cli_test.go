package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "", want: now},
		{in: "now", want: now},
		{in: "2026-12-01T09:00:00Z", want: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		{in: "2026-12-01T10:00:00+01:00", want: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		{in: "2026-12-01", want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{in: "+2h", want: now.Add(2 * time.Hour)},
		{in: "-3d", want: now.Add(-72 * time.Hour)},
		{in: "+1w", want: now.Add(7 * 24 * time.Hour)},
		{in: "+1d12h", want: now.Add(36 * time.Hour)},
		{in: "+1.5h", want: now.Add(90 * time.Minute)},
		{in: "now+30m", want: now.Add(30 * time.Minute)},
		{in: "now-10s", want: now.Add(-10 * time.Second)},
		{in: "tomorrow", err: "want RFC 3339"},
		{in: "+2", err: "want a number and a unit"},
		{in: "+2y", err: `unknown unit "y"`},
		{in: "+", err: "empty offset"},
		{in: "2026-13-01", err: "want RFC 3339"},
	}
	for _, tc := range tests {
		got, err := parseTime(tc.in, now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseTime(%q): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseInterleavesFlagsAndArguments(t *testing.T) {
	tests := []struct {
		args     []string
		pos      []string
		env      string
		attrs    string
		code     int
		stopped  bool
		min, max int
	}{
		{args: []string{"flag-a", "--env", "staging"}, pos: []string{"flag-a"}, env: "staging", max: -1},
		{args: []string{"--env", "staging", "flag-a", "-a", "x=1", "flag-b", "-a", "y=2"}, pos: []string{"flag-a", "flag-b"}, env: "staging", attrs: "x=1,y=2", max: -1},
		{args: []string{"--", "-weird-key"}, pos: []string{"-weird-key"}, max: -1},
		{args: []string{"a", "b"}, max: 1, code: ExitUsage, stopped: true},
		{args: nil, min: 1, max: 1, code: ExitUsage, stopped: true},
		{args: []string{"--nope"}, max: -1, code: ExitUsage, stopped: true},
		{args: []string{"--help"}, max: -1, code: ExitOK, stopped: true},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		r := &runner{env: &Env{Stdout: &stdout, Stderr: &stderr}, cmd: evalCommand}
		fs := r.newFlags()
		env := fs.String("env", "", "")
		var attrs listFlag
		fs.Var(&attrs, "a", "")
		pos, code, stopped := r.parse(fs, tc.args, tc.min, tc.max)
		if stopped != tc.stopped || code != tc.code {
			t.Errorf("parse(%q): code %d stopped %v, want %d %v (stderr %s)", tc.args, code, stopped, tc.code, tc.stopped, stderr.String())
			continue
		}
		if stopped {
			continue
		}
		if strings.Join(pos, " ") != strings.Join(tc.pos, " ") || *env != tc.env || attrs.String() != tc.attrs {
			t.Errorf("parse(%q) = %q env %q attrs %q", tc.args, pos, *env, attrs.String())
		}
	}
}

func TestRunInProcess(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Now: func() time.Time { return now }, Getenv: func(string) string { return "" }}
	if code := Run(env, []string{"help"}); code != ExitOK || !strings.Contains(stdout.String(), "simulate") {
		t.Errorf("help: %d %s", code, stdout.String())
	}
	stdout.Reset()
	if code := Run(env, []string{"help", "diff"}); code != ExitOK || !strings.Contains(stdout.String(), "--exit-code") {
		t.Errorf("help diff: %d %s", code, stdout.String())
	}
	if code := Run(env, []string{"help", "nope"}); code != ExitUsage {
		t.Errorf("help nope: %d", code)
	}
	if code := Run(env, nil); code != ExitUsage {
		t.Errorf("no arguments: %d", code)
	}
}

func TestEveryCommandHasHelpAndAnExample(t *testing.T) {
	for _, c := range commands {
		if c.summary == "" || c.usage == "" || c.description == "" || !strings.HasPrefix(strings.TrimSpace(c.example), "edgeflag "+c.name) {
			t.Errorf("command %s lacks a summary, usage, description or an example of itself", c.name)
		}
	}
}

func TestGates(t *testing.T) {
	tests := []struct{ line, want string }{
		{`      - { after: 15m, percentage: 1 }    # monitor metrics`, "Monitor metrics"},
		{`    start: 2026-11-30T09:00:00Z        # Day 1: 0%, deploy, internal testing`, "Deploy, internal testing"},
		{`      - { at: 2026-12-01T08:00:00Z, percentage: 5 }    # hour 0:  95% / 5%`, "95% / 5%"},
		{`    start: 2026-11-26T13:00:00Z   # 0:00 deploy fix`, "Deploy fix"},
		{`  value: "a # not a comment"`, ""},
		{`  value: "x" # comment after a quote`, "Comment after a quote"},
		{`key: color#1`, ""},
	}
	for _, tc := range tests {
		if got := gateText(lineComment(tc.line)); got != tc.want {
			t.Errorf("gate of %q = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1000000: "1,000,000", -12345: "-12,345"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %s", n, got)
		}
	}
	offsets := []struct {
		d    time.Duration
		long bool
		want string
	}{
		{15 * time.Minute, false, "0:15"}, {8 * time.Hour, false, "8:00"}, {26*time.Hour + 5*time.Minute, false, "26:05"},
		{0, true, "Day 1"}, {20 * 24 * time.Hour, true, "Day 21"},
	}
	for _, tc := range offsets {
		if got := formatOffset(tc.d, tc.long); got != tc.want {
			t.Errorf("formatOffset(%v, %v) = %s, want %s", tc.d, tc.long, got, tc.want)
		}
	}
	tb := (&table{}).alignRight(1)
	tb.add("NAME", "USERS")
	tb.add("canary ✓", "5")
	tb.add("everyone", "1,000")
	if got, want := tb.string(), "NAME      USERS\ncanary ✓      5\neveryone  1,000\n"; got != want {
		t.Errorf("table:\n%s\nwant\n%s", got, want)
	}
}

func TestSuggest(t *testing.T) {
	if !containsWords("faster-image-cdn", "faster-cdn") || containsWords("faster-image-cdn", "slower-cdn") {
		t.Error("containsWords")
	}
}

func TestListFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var l listFlag
	fs.Var(&l, "a", "")
	if err := fs.Parse([]string{"-a", "x=1", "-a", "y=2"}); err != nil || l.String() != "x=1,y=2" {
		t.Errorf("listFlag: %v %s", err, l.String())
	}
}
