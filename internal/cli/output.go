package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// writeJSON writes v as indented JSON with a final newline, without HTML escaping (so
// "→" and "<" stay readable).
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// ANSI styles.
const (
	styleBold   = "1"
	styleDim    = "2"
	styleRed    = "31"
	styleGreen  = "32"
	styleYellow = "33"
	styleCyan   = "36"
)

// paint wraps s in an ANSI style when colour is on. The codes are marked as the CLI's
// own, so the output layer writes them; control characters in s are escaped.
func (r *runner) paint(style, s string) string {
	if !r.env.Color || s == "" {
		return s
	}
	return r.control("\x1b["+style+"m") + s + r.control("\x1b[0m")
}

// control marks seq, a control sequence of the CLI's own (never input), to be written
// as it is by the output layer, which escapes every other control character.
func (r *runner) control(seq string) string {
	if r.term == nil {
		return seq
	}
	return r.term.Control(seq)
}

// table lays out aligned columns separated by two spaces. Cells must not contain colour
// codes, which would count as width.
type table struct {
	rows  [][]string
	right map[int]bool // right-aligned columns (numbers)
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// alignRight right-aligns the given columns.
func (t *table) alignRight(cols ...int) *table {
	if t.right == nil {
		t.right = map[int]bool{}
	}
	for _, c := range cols {
		t.right[c] = true
	}
	return t
}

// string renders the table, one line per row, without trailing spaces.
func (t *table) string() string {
	var widths []int
	for _, row := range t.rows {
		for j, c := range row {
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		var line strings.Builder
		for j, c := range row {
			if j > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c))
			if t.right[j] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return b.String()
}
