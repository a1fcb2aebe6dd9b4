package compiler

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is one problem found in the flag files, with its position and the path of the
// field it concerns (for example rules[0].when.op).
type Error struct {
	File    string // the file's path as given to Load, or the directory for project-wide problems
	Line    int    // 1-based; 0 when the problem has no line (a missing Project file)
	Column  int    // 1-based; 0 when unknown (some YAML syntax errors)
	Path    string // the field path inside the document, "" for the document itself
	Message string
}

// Error formats the problem as file:line:column: path: message, leaving out the parts
// that are unknown.
//
// Control characters (ESC, CR, backspace...) in the file name, path and message are
// written escaped (\x1b), so that an error echoed to a terminal or a CI log cannot
// recolour or rewrite it, whatever the files are named or hold.
func (e *Error) Error() string {
	var b strings.Builder
	writeEscaped(&b, e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		writeEscaped(&b, e.Path)
		b.WriteString(": ")
	}
	writeEscaped(&b, e.Message)
	return b.String()
}

// writeEscaped writes s with its control characters (C0, DEL, C1) escaped as \xHH or
// \u00HH, and invalid UTF-8 bytes as \xHH.
func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[s[i]>>4])
			b.WriteByte("0123456789abcdef"[s[i]&15])
		case r >= 0x80 && r < 0xa0:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}

// ErrorList is every problem found, sorted by file, line and column. Load and Compile
// return one whenever there is any problem; nothing is built then.
type ErrorList []*Error

// Error lists the problems, one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so errors.As finds an *Error in the list.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// sortErrors orders the list by position and message and drops exact repeats.
func sortErrors(l ErrorList) ErrorList {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}

// maxExcerpt is the most bytes of a bad input that an error message quotes.
const maxExcerpt = 40

// excerpt quotes s for an error message: escaped (control characters, invalid UTF-8 and
// all, so that it cannot drive a terminal), and cut to its first maxExcerpt bytes with its
// length when it is longer, so that an error never echoes a whole file that was read by
// mistake.
func excerpt(s string) string {
	if len(s) <= maxExcerpt {
		return strconv.Quote(s)
	}
	cut := maxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// ex is a string printed as an excerpt by fmt's %q (and %s, %v).
type ex string

// Format implements fmt.Formatter.
func (e ex) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, excerpt(string(e))) }
