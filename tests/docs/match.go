package docs

import (
	"fmt"
	"regexp"
	"strings"
)

// Ellipsis is an expected-output line that matches any number of lines, none included.
const Ellipsis = "..."

// Match compares a command's output with the output a Markdown file shows, line by line,
// ignoring trailing spaces and a final newline. An expected line "..." matches any number
// of lines; in every other expected line, the parts that a vary pattern matches stand for
// anything that pattern matches in the output. The error tells the first line that differs.
func Match(want, got string, vary []*regexp.Regexp) error {
	wl, gl := splitLines(want), splitLines(got)
	pats := make([]*regexp.Regexp, len(wl))
	for i, w := range wl {
		if w != Ellipsis {
			pats[i] = linePattern(w, vary)
		}
	}
	bestW, bestG := 0, 0
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i > bestW || i == bestW && j > bestG {
			bestW, bestG = i, j
		}
		if i == len(wl) {
			return j == len(gl)
		}
		if pats[i] == nil {
			for k := j; k <= len(gl); k++ {
				if match(i+1, k) {
					return true
				}
			}
			return false
		}
		return j < len(gl) && pats[i].MatchString(gl[j]) && match(i+1, j+1)
	}
	if match(0, 0) {
		return nil
	}
	var b strings.Builder
	switch {
	case bestW < len(wl) && bestG < len(gl):
		fmt.Fprintf(&b, "output line %d differs:\n  want: %s\n  got:  %s\n", bestG+1, wl[bestW], gl[bestG])
	case bestW < len(wl):
		fmt.Fprintf(&b, "output ends before the expected line %q\n", wl[bestW])
	default:
		fmt.Fprintf(&b, "unexpected output from line %d on: %q\n", bestG+1, gl[bestG])
	}
	fmt.Fprintf(&b, "--- want (the Markdown)\n%s--- got\n%s", want, got)
	return fmt.Errorf("%s", b.String())
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return lines
}

// linePattern is the anchored regexp of an expected line: its text literally, except the
// parts a vary pattern matches, which become that pattern.
func linePattern(line string, vary []*regexp.Regexp) *regexp.Regexp {
	var alts []string
	for _, v := range vary {
		alts = append(alts, "(?:"+v.String()+")")
	}
	var b strings.Builder
	b.WriteString("^")
	last := 0
	if len(alts) > 0 {
		any := regexp.MustCompile(strings.Join(alts, "|"))
		for _, m := range any.FindAllStringIndex(line, -1) {
			if m[0] == m[1] {
				continue
			}
			b.WriteString(regexp.QuoteMeta(line[last:m[0]]))
			b.WriteString("(?:" + any.String() + ")")
			last = m[1]
		}
	}
	b.WriteString(regexp.QuoteMeta(line[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
