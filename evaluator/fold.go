package evaluator

import (
	"unicode/utf8"
	"unsafe"
)

//go:generate go run gen_lower.go

// Case-insensitive matching (ignoreCase): a value matches when, lower-cased rune by rune
// as unicode.ToLower does, it equals (starts with, ends with, contains) the literal, which
// the compiler stores lower-cased (strings.ToLower). Invalid UTF-8 in a value reads as
// U+FFFD, as strings.ToLower would write it. The value is lower-cased on the fly, without
// allocating, and with the table of lower_table.go rather than package unicode, whose
// tables would cost the WASM module about 10 KB gzip; a test holds the table to
// unicode.ToLower for every rune.

type lowerRun struct {
	lo, hi rune
	stride rune
	delta  rune
}

// lowerRune returns r in lower case.
func lowerRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	lo, hi := 0, len(lowerRuns)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch run := &lowerRuns[m]; {
		case r < run.lo:
			hi = m
		case r > run.hi:
			lo = m + 1
		default:
			if (r-run.lo)%run.stride == 0 {
				return r + run.delta
			}
			return r
		}
	}
	return r
}

// nextLower returns the first rune of s lower-cased, and its width in s.
func nextLower(s string) (rune, int) {
	if c := s[0]; c < utf8.RuneSelf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return rune(c), 1
	}
	r, w := utf8.DecodeRuneInString(s)
	return lowerRune(r), w
}

// nextRune returns the first rune of s and its width.
func nextRune(s string) (rune, int) {
	if c := s[0]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s)
}

// lowerBuffer is the longest value lowerASCII lower-cases.
const lowerBuffer = 32

// lowerASCII returns s lower-cased, in buf, when s is ASCII and fits: then lower(s) is
// that string, and comparing it with a literal costs no rune decoding (in the WASM module,
// two calls a byte fewer). ok is false otherwise.
//
//go:noinline
func lowerASCII(buf *[lowerBuffer]byte, s string) (string, bool) {
	if len(s) > len(buf) {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return "", false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return unsafe.String(&buf[0], len(s)), true
}

// compareLower compares lower(s) with lit in code point order, which is the byte order of
// UTF-8: the order of the compiler's sorted sets.
func compareLower(s, lit string) int {
	for len(s) > 0 && len(lit) > 0 {
		a, wa := nextLower(s)
		b, wb := nextRune(lit)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
		s, lit = s[wa:], lit[wb:]
	}
	switch {
	case len(s) == len(lit): // both empty
		return 0
	case len(s) == 0:
		return -1
	}
	return 1
}

// prefixLower reports whether lower(s) starts with lit, and returns the bytes of s it
// takes.
func prefixLower(s, lit string) (int, bool) {
	n := 0
	for len(lit) > 0 {
		if n == len(s) {
			return 0, false
		}
		if c, d := s[n], lit[0]; c < utf8.RuneSelf && d < utf8.RuneSelf { // ASCII
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != d {
				return 0, false
			}
			n++
			lit = lit[1:]
			continue
		}
		a, wa := nextLower(s[n:])
		b, wb := nextRune(lit)
		if a != b {
			return 0, false
		}
		n += wa
		lit = lit[wb:]
	}
	return n, true
}

// matchLower applies a string operator to lower(s) and lit.
func matchLower(op stringOp, s, lit string) bool {
	switch op {
	case opPrefix:
		_, ok := prefixLower(s, lit)
		return ok
	case opSuffix:
		if i := len(s) - len(lit); i >= 0 && isASCII(s[i:]) && isASCII(lit) {
			// ASCII bytes are runes of their own, and lower-case to ASCII.
			_, ok := prefixLower(s[i:], lit)
			return ok
		}
		// Lower-casing keeps the number of runes, so only the boundary that leaves as
		// many runes of s as lit has can start the match.
		skip := utf8.RuneCountInString(s) - utf8.RuneCountInString(lit)
		if skip < 0 {
			return false
		}
		i := 0
		for ; skip > 0; skip-- {
			_, w := nextRune(s[i:])
			i += w
		}
		n, ok := prefixLower(s[i:], lit)
		return ok && i+n == len(s)
	}
	// Try lit at every rune boundary of s (and at the end, for an empty lit).
	for i := 0; ; {
		if _, ok := prefixLower(s[i:], lit); ok {
			return true
		}
		if i == len(s) {
			return false
		}
		_, w := nextRune(s[i:])
		i += w
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stringOp is one of the substring operators.
type stringOp uint8

const (
	opPrefix stringOp = iota
	opSuffix
	opContains
)

// matchExact applies a string operator to s and lit, byte for byte.
func matchExact(op stringOp, s, lit string) bool {
	n := len(lit)
	switch op {
	case opPrefix:
		return len(s) >= n && s[:n] == lit
	case opSuffix:
		return len(s) >= n && s[len(s)-n:] == lit
	}
	if n == 0 {
		return true
	}
	// Find each first byte of lit among the positions where lit fits, then compare.
	c, last := lit[0], len(s)-n
	for i := 0; i <= last; {
		j := indexByte(s[i:last+1], c)
		if j < 0 {
			return false
		}
		i += j
		if s[i+n-1] == lit[n-1] && s[i:i+n] == lit { // the last byte first: no call
			return true
		}
		i++
	}
	return false
}
