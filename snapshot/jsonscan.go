package snapshot

import "unicode/utf8"

// maxJSONDepth bounds the nesting of arrays and objects in a variant value.
const maxJSONDepth = 128

// validLiteral reports whether text is a variant value of flag type t: exactly one JSON
// value (RFC 8259, no surrounding whitespace, valid UTF-8) of that type — true or false
// for a boolean flag, a string, a number, any value for a JSON flag. Evaluators copy
// variant values into their responses as they are, so Decode refuses any other text: it
// would make those responses invalid JSON, or add fields to them.
func validLiteral(t ValueType, text string) bool {
	if text == "" {
		return false
	}
	switch t {
	case TypeBoolean:
		return text == "true" || text == "false"
	case TypeString:
		return text[0] == '"' && validJSON(text)
	case TypeNumber:
		return (text[0] == '-' || text[0] >= '0' && text[0] <= '9') && validJSON(text)
	case TypeJSON:
		return validJSON(text)
	}
	return false
}

// validJSON reports whether s is exactly one JSON value, without whitespace around it,
// nested at most maxJSONDepth deep. It is a small scanner: the package does not use
// encoding/json, which the WASM evaluator leaves out.
func validJSON(s string) bool {
	sc := jsonScanner{s: s}
	return sc.value() && sc.i == len(s)
}

type jsonScanner struct {
	s     string
	i     int
	stack []byte // the open containers, '[' or '{'
}

// space and consume are not inlined: the scanner runs once per snapshot, and their copies
// at every call site would cost the WASM module size.
//
//go:noinline
func (sc *jsonScanner) space() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// consume is not inlined: the scanner runs once per snapshot load, and the copies cost the
// WASM module 0.6 KB gzip.
//
//go:noinline
func (sc *jsonScanner) consume(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// value scans one value, iteratively so that deep nesting cannot exhaust the stack.
func (sc *jsonScanner) value() bool {
	for {
		// A value starts here.
		if sc.i >= len(sc.s) {
			return false
		}
		switch c := sc.s[sc.i]; {
		case c == '{' || c == '[':
			if len(sc.stack) >= maxJSONDepth {
				return false
			}
			sc.i++
			sc.space()
			if sc.consume(c + 2) { // '}' is '{'+2, ']' is '['+2
				break
			}
			sc.stack = append(sc.stack, c)
			if c == '{' && !sc.key() {
				return false
			}
			sc.space()
			continue
		case c == '"':
			if !sc.str() {
				return false
			}
		case c == '-' || c >= '0' && c <= '9':
			if !sc.number() {
				return false
			}
		default:
			if !sc.word("true") && !sc.word("false") && !sc.word("null") {
				return false
			}
		}
		// A value ended: close containers, or go on to the next element.
		for {
			if len(sc.stack) == 0 {
				return true
			}
			sc.space()
			open := sc.stack[len(sc.stack)-1]
			if sc.consume(',') {
				sc.space()
				if open == '{' && !sc.key() {
					return false
				}
				sc.space()
				break
			}
			if !sc.consume(open + 2) {
				return false
			}
			sc.stack = sc.stack[:len(sc.stack)-1]
		}
	}
}

// key scans an object key and its colon.
func (sc *jsonScanner) key() bool {
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' || !sc.str() {
		return false
	}
	sc.space()
	if !sc.consume(':') {
		return false
	}
	sc.space()
	return true
}

// word is not inlined (WASM module size; the scanner runs once per snapshot load).
//
//go:noinline
func (sc *jsonScanner) word(w string) bool {
	if len(sc.s)-sc.i >= len(w) && sc.s[sc.i:sc.i+len(w)] == w {
		sc.i += len(w)
		return true
	}
	return false
}

func (sc *jsonScanner) str() bool {
	sc.i++ // the opening quote
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			return true
		case c == '\\':
			sc.i++
			if sc.i >= len(sc.s) {
				return false
			}
			switch sc.s[sc.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				sc.i++
			case 'u':
				if len(sc.s)-sc.i < 5 {
					return false
				}
				for _, h := range []byte(sc.s[sc.i+1 : sc.i+5]) {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				sc.i += 5
			default:
				return false
			}
		case c < 0x20:
			return false
		case c < utf8.RuneSelf:
			sc.i++
		default:
			r, n := utf8.DecodeRuneInString(sc.s[sc.i:])
			if r == utf8.RuneError && n == 1 {
				return false
			}
			sc.i += n
		}
	}
	return false
}

func (sc *jsonScanner) number() bool {
	sc.consume('-')
	digits := func() int {
		n := 0
		for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
			sc.i++
			n++
		}
		return n
	}
	if !sc.consume('0') && digits() == 0 { // a leading 0 stands alone
		return false
	}
	if sc.consume('.') && digits() == 0 {
		return false
	}
	if sc.consume('e') || sc.consume('E') {
		if !sc.consume('+') {
			sc.consume('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
