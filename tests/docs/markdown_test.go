package docs

import (
	"regexp"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	md := strings.Join([]string{
		"# Title",
		"<!-- doc-test: skip (needs AWS credentials) -->",
		"```sh",
		"aws s3 ls",
		"```",
		"",
		"<!-- doc-test: exit 1 -->",
		"<!-- doc-test: setup touch x -->",
		"<!-- doc-test: now 2026-12-01T00:00:00Z -->",
		"<!-- doc-test: vary [0-9a-f]{7} -->",
		"```sh",
		"edgeflag lint",
		"```",
		"",
		"```text",
		"flags: 1 finding",
		"```",
		"```yaml",
		"kind: Flag",
		"```",
		"  ```sh",
		"  edgeflag validate",
		"  ```",
	}, "\n")
	ex, err := Parse("x.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 3 {
		t.Fatalf("%d examples, want 3", len(ex))
	}
	if ex[0].Skip != "needs AWS credentials" || ex[0].Line != 3 || ex[0].Script != "aws s3 ls\n" {
		t.Errorf("example 1: %+v", ex[0])
	}
	e := ex[1]
	if e.Exit != 1 || len(e.Setup) != 1 || e.Setup[0] != "touch x" || e.Now != "2026-12-01T00:00:00Z" ||
		len(e.Vary) != 1 || !e.HasWant || e.Want != "flags: 1 finding\n" || e.Name() != "x.md:11" {
		t.Errorf("example 2: %+v", e)
	}
	if ex[2].Script != "edgeflag validate\n" || ex[2].HasWant || ex[2].Skip != "" {
		t.Errorf("example 3 (indented): %+v", ex[2])
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ md, err string }{
		{"```\n$ edgeflag validate\nok\n```\n", "x.md:1: a shell transcript"},
		{"<!-- doc-test: skip -->\n```sh\nx\n```\n", "skip needs a reason"},
		{"<!-- doc-test: exit two -->\n```sh\nx\n```\n", `exit "two"`},
		{"<!-- doc-test: frobnicate -->\n```sh\nx\n```\n", `unknown doc-test directive "frobnicate"`},
		{"<!-- doc-test: vary ([ -->\n```sh\nx\n```\n", "vary: error parsing regexp"},
		{"<!-- doc-test: vary a -->\n```sh\nx\n```\n", "no ```text block"},
		{"<!-- doc-test: exit 1 -->\n```yaml\nx: 1\n```\n", "before a ```yaml block"},
		{"text\n<!-- doc-test: exit 1 -->\n", "x.md:2: doc-test directive without a ```sh block"},
		{"```sh\nx\n", "x.md:1: code block not closed"},
		{"<!-- doc-test: exit 1\n```sh\nx\n```\n", "must end with -->"},
	}
	for _, tt := range tests {
		_, err := Parse("x.md", []byte(tt.md))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Parse(%q): error %v, want %q", tt.md, err, tt.err)
		}
	}
}

func TestMatch(t *testing.T) {
	hash := []*regexp.Regexp{regexp.MustCompile(`[0-9a-f]{7}`)}
	tests := []struct {
		name      string
		want, got string
		vary      []*regexp.Regexp
		err       string
	}{
		{name: "equal", want: "a\nb\n", got: "a\nb\n"},
		{name: "trailing spaces and final newline", want: "a  \nb", got: "a\nb\n"},
		{name: "different line", want: "a\nb\n", got: "a\nc\n", err: "output line 2 differs"},
		{name: "missing line", want: "a\nb\n", got: "a\n", err: `output ends before the expected line "b"`},
		{name: "extra line", want: "a\n", got: "a\nb\n", err: "unexpected output from line 2"},
		{name: "ellipsis matches none", want: "...\na\n", got: "a\n"},
		{name: "ellipsis matches many", want: "a\n...\nz\n", got: "a\nb\nc\nz\n"},
		{name: "ellipsis then a line that is missing", want: "a\n...\nz\n", got: "a\nb\n", err: `ends before the expected line "z"`},
		{name: "two ellipses", want: "...\nm\n...\n", got: "a\nm\nb\nm\n"},
		{name: "vary", want: "flags at HEAD (3f1c2e9) → x\n", got: "flags at HEAD (0a1b2c3) → x\n", vary: hash},
		{name: "vary keeps the rest literal", want: "flags at HEAD (3f1c2e9) → x\n", got: "flags at HEAD (0a1b2c3) → y\n", vary: hash, err: "differs"},
		{name: "vary does not widen", want: "(3f1c2e9)\n", got: "(zzzzzzz)\n", vary: hash, err: "differs"},
		{name: "regexp characters are literal", want: "a.b (1%)\n", got: "axb (1%)\n", err: "differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Match(tt.want, tt.got, tt.vary)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("Match: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("Match: error %v, want %q", err, tt.err)
			}
		})
	}
}
