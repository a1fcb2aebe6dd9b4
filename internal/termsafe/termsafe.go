// Package termsafe keeps what a program echoes to a terminal or a CI log from taking the
// terminal over. File names, flag files, store values and API answers may hold control
// characters (ESC sequences recolour, move the cursor or retitle the window; CR and
// backspace rewrite a line already printed; BEL rings) and bidirectional-text overrides
// (U+202E shows "txt.exe" as "exe.txt"). A Writer escapes them all on the way out, so
// that every byte of output is written by one layer, whatever the commands print.
//
// The program's own control sequences (colour, a progress bar's carriage return) are
// authorised with a Marker: Marker.Control prefixes each control character with a secret
// drawn at random for the process, and a Writer made by the Marker writes a control
// character so prefixed as it is. Input cannot carry the secret, so its control
// characters are always escaped.
package termsafe

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Escape returns s with every character a terminal would act on written escaped: C0
// controls but newline and tab as \xHH (\x1b for ESC), DEL, C1 controls and the Unicode
// format characters that reorder or separate text as \uHHHH, invalid UTF-8 bytes as \xHH.
// Everything else, backslashes included, is left as it is.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		n := escapeRune(&b, s[i:])
		i += n
	}
	return b.String()
}

// needsEscape reports whether Escape would change s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControl(rune(c)) {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || isControl(r) {
			return true
		}
		i += n
	}
	return false
}

// isControl reports whether r is escaped.
func isControl(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, // Arabic letter mark
		r == 0x200e, r == 0x200f, // left-to-right and right-to-left marks
		r >= 0x202a && r <= 0x202e, // embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // isolates
		r == 0x2028, r == 0x2029:   // line and paragraph separators
		return true
	}
	return false
}

const hexDigits = "0123456789abcdef"

// escapeRune writes the first character of s, escaped if it must be, and returns its
// length in bytes.
func escapeRune(b *strings.Builder, s string) int {
	c := s[0]
	if c < utf8.RuneSelf {
		if isControl(rune(c)) && c != 0x7f {
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		} else if c == 0x7f {
			b.WriteString(`\u007f`)
		} else {
			b.WriteByte(c)
		}
		return 1
	}
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && n == 1:
		b.WriteString(`\x`)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	case isControl(r):
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hexDigits[(r>>shift)&15])
		}
	default:
		b.WriteString(s[:n])
	}
	return n
}

// A Marker authorises the control sequences a program writes itself. Its secret is
// drawn at random when it is made; share one Marker among the Writers of one program.
type Marker struct {
	secret string // a control character, then 16 random hex digits
}

// NewMarker returns a Marker with a fresh secret.
func NewMarker() *Marker {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read does not fail
	return &Marker{secret: "\x1b" + hex.EncodeToString(rnd[:])}
}

// Control returns seq with each of its control characters marked, so that a Writer of
// this Marker writes them as they are. seq is the program's own, never input.
func (m *Marker) Control(seq string) string {
	var b strings.Builder
	for i := 0; i < len(seq); i++ {
		if c := seq[i]; c < 0x20 || c == 0x7f {
			b.WriteString(m.secret)
		}
		b.WriteByte(seq[i])
	}
	return b.String()
}

// NewWriter returns a Writer on w that writes the control characters m marked as they
// are and escapes all others (Escape). A nil m marks nothing.
func (m *Marker) NewWriter(w io.Writer) *Writer {
	wr := &Writer{w: w}
	if m != nil {
		wr.secret = m.secret
	}
	return wr
}

// NewWriter returns a Writer on w that escapes every control character (Escape).
func NewWriter(w io.Writer) *Writer { return (*Marker)(nil).NewWriter(w) }

// A Writer escapes what is written through it (Escape) but for the control characters
// its Marker marked, and writes the result to the underlying writer, one underlying
// Write per Write. It is safe for concurrent use. A character or a mark split across two
// Writes is held back until the rest arrives; Flush writes what is held back.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	secret  string
	pending []byte
}

// Write escapes p and writes it. It returns len(p) when the underlying write succeeds.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := string(p)
	if len(w.pending) > 0 {
		data = string(w.pending) + data
		w.pending = w.pending[:0]
	}
	if err := w.write(data, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes, escaped, what a Write held back as the start of a character or a mark.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := string(w.pending)
	w.pending = w.pending[:0]
	return w.write(data, true)
}

// write escapes s, keeping marked control characters, and writes it. Unless final, it
// holds back an end of s that may be the start of a character or of a marked control
// character that the next Write completes.
func (w *Writer) write(s string, final bool) error {
	if s == "" {
		return nil
	}
	if !needsEscape(s) {
		_, err := io.WriteString(w.w, s)
		return err
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		rest := s[i:]
		if w.secret != "" && rest[0] == w.secret[0] {
			if len(rest) > len(w.secret) && strings.HasPrefix(rest, w.secret) {
				b.WriteByte(rest[len(w.secret)])
				i += len(w.secret) + 1
				continue
			}
			if !final && strings.HasPrefix(w.secret, rest) {
				w.pending = append(w.pending, rest...)
				break
			}
		}
		if !final && rest[0] >= utf8.RuneSelf && !utf8.FullRuneInString(rest) {
			w.pending = append(w.pending, rest...)
			break
		}
		i += escapeRune(&b, rest)
	}
	_, err := io.WriteString(w.w, b.String())
	return err
}
