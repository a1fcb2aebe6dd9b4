package snapshot

import (
	"strconv"
	"unicode/utf8"
)

// MaxJSONNesting is the deepest nesting of arrays and objects that CheckJSON follows: a
// JSONOptions.MaxDepth above it counts as MaxJSONNesting.
const MaxJSONNesting = 512

// JSONOptions says what CheckJSON accepts around and inside the one JSON value.
type JSONOptions struct {
	// MaxDepth bounds the nesting of arrays and objects: [] is 1 deep, [[]] 2, a string
	// 0. A MaxDepth over MaxJSONNesting counts as MaxJSONNesting.
	MaxDepth int
	// Space allows whitespace (space, tab, line feed, carriage return) before and after
	// the value. Whitespace between the tokens inside it is always allowed.
	Space bool
	// UTF8 refuses strings that are not valid UTF-8. Without it, any byte but a control
	// character may appear in a string.
	UTF8 bool
}

// CheckJSON checks that text is exactly one JSON value (RFC 8259) that meets o. It
// returns "" and len(text) when it is, else a description of the first problem and the
// byte offset at which it was found, such as "invalid character 'x' after an object
// member: expected ',' or '}'" (at the 'x') or "unexpected end of JSON input".
//
// It is the one JSON syntax check of edgeflag: Decode checks variant values with it, and
// package protocol OFREP request bodies and contexts, whose PARSE_ERROR messages quote
// its descriptions. It allocates only to describe a problem, and it is the package's own
// because the WASM module leaves out encoding/json.
func CheckJSON(text string, o JSONOptions) (problem string, at int) {
	sc := jsonScanner{s: text, max: min(o.MaxDepth, MaxJSONNesting), utf8: o.UTF8}
	problem = sc.value(o.Space)
	return problem, sc.i
}

// maxJSONDepth bounds the nesting of arrays and objects in a variant value.
const maxJSONDepth = 128

// variantJSON is what Decode accepts as a variant value: no whitespace around it, which
// responses would carry, valid UTF-8, nested at most maxJSONDepth deep.
var variantJSON = JSONOptions{MaxDepth: maxJSONDepth, UTF8: true}

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
		if text[0] != '"' {
			return false
		}
	case TypeNumber:
		if text[0] != '-' && (text[0] < '0' || text[0] > '9') {
			return false
		}
	case TypeJSON:
	default:
		return false
	}
	problem, _ := CheckJSON(text, variantJSON)
	return problem == ""
}

const errJSONEnd = "unexpected end of JSON input"

// jsonScanner is the state of CheckJSON.
type jsonScanner struct {
	s     string
	i     int
	depth int  // containers open
	max   int  // JSONOptions.MaxDepth
	utf8  bool // JSONOptions.UTF8
	// objects has bit d set when the container open at depth d+1 is an object.
	objects [MaxJSONNesting / 64]uint64
}

// space is not inlined: its copies at its call sites would cost the WASM module size.
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

// inObject reports whether the innermost open container is an object.
func (sc *jsonScanner) inObject() bool {
	d := sc.depth - 1
	return sc.objects[d>>6]&(1<<(d&63)) != 0
}

// value scans one value, with whitespace around it if space, iteratively so that deep
// nesting cannot exhaust the stack.
func (sc *jsonScanner) value(space bool) string {
	if space {
		sc.space()
	}
	for {
		// A value is expected, whitespace skipped.
		if sc.i == len(sc.s) {
			return errJSONEnd
		}
		switch c := sc.s[sc.i]; {
		case c == '{' || c == '[':
			if sc.depth >= sc.max {
				return "JSON nested deeper than " + strconv.Itoa(sc.max) + " levels"
			}
			sc.i++
			sc.space()
			if sc.i < len(sc.s) && sc.s[sc.i] == c+2 { // '}' is '{'+2, ']' is '['+2
				sc.i++
				break
			}
			d := sc.depth
			sc.depth++
			if c == '[' {
				sc.objects[d>>6] &^= 1 << (d & 63)
				continue
			}
			sc.objects[d>>6] |= 1 << (d & 63)
			if p := sc.member(); p != "" {
				return p
			}
			continue
		case c == '"':
			if p := sc.str(); p != "" {
				return p
			}
		case c == 't':
			if p := sc.literal("true"); p != "" {
				return p
			}
		case c == 'f':
			if p := sc.literal("false"); p != "" {
				return p
			}
		case c == 'n':
			if p := sc.literal("null"); p != "" {
				return p
			}
		case c == '-' || c >= '0' && c <= '9':
			if p := sc.number(); p != "" {
				return p
			}
		default:
			return "invalid character " + quoteChar(c) + " where a value is expected"
		}
		// A value ended: close containers or go on to the next element.
		for {
			if sc.depth == 0 {
				if space {
					sc.space()
				}
				if sc.i != len(sc.s) {
					return "invalid character " + quoteChar(sc.s[sc.i]) + " after the JSON value"
				}
				return ""
			}
			sc.space()
			if sc.i == len(sc.s) {
				return errJSONEnd
			}
			object := sc.inObject()
			c := sc.s[sc.i]
			if c == ',' {
				sc.i++
				sc.space()
				if object {
					if p := sc.member(); p != "" {
						return p
					}
				}
				break
			}
			if object && c == '}' || !object && c == ']' {
				sc.i++
				sc.depth--
				continue
			}
			if object {
				return "invalid character " + quoteChar(c) + " after an object member: expected ',' or '}'"
			}
			return "invalid character " + quoteChar(c) + " after a list element: expected ',' or ']'"
		}
	}
}

// member scans an object member's name and colon, and the whitespace after them.
func (sc *jsonScanner) member() string {
	if sc.i == len(sc.s) {
		return errJSONEnd
	}
	if sc.s[sc.i] != '"' {
		return "invalid character " + quoteChar(sc.s[sc.i]) + " where an object member name is expected"
	}
	if p := sc.str(); p != "" {
		return p
	}
	sc.space()
	if sc.i == len(sc.s) {
		return errJSONEnd
	}
	if sc.s[sc.i] != ':' {
		return "invalid character " + quoteChar(sc.s[sc.i]) + " after an object member name: expected ':'"
	}
	sc.i++
	sc.space()
	return ""
}

// str scans a string, from its opening quote.
func (sc *jsonScanner) str() string {
	plain := byte(plainASCII)
	if !sc.utf8 {
		plain |= plainNonASCII
	}
	sc.i++
	for {
		// Skip the bytes that stand for themselves, then look at the next one.
		s, i := sc.s, sc.i
		for i < len(s) && jsonPlain[s[i]]&plain != 0 {
			i++
		}
		if sc.i = i; i == len(s) {
			return errJSONEnd
		}
		switch c := s[i]; {
		case c == '"':
			sc.i++
			return ""
		case c < 0x20:
			return "control character " + quoteChar(c) + " in a string"
		case c == '\\':
			if i+1 == len(s) {
				return errJSONEnd
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				sc.i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(s) {
						return errJSONEnd
					}
					if h := s[i+k]; !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						sc.i += k
						return "invalid character " + quoteChar(h) + ` in a \u escape`
					}
				}
				sc.i += 6
			default:
				sc.i++
				return "invalid escape " + quoteChar(s[i+1]) + " in a string"
			}
		default: // a byte over 0x7f, which must be UTF-8
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return "invalid UTF-8 in a string"
			}
			sc.i += n
		}
	}
}

// jsonPlain classifies the bytes that stand for themselves in a string: all but '"', '\\'
// and control characters, bytes over 0x7f only when strings need not be valid UTF-8.
var jsonPlain = func() (t [256]byte) {
	for c := 0x20; c < 0x100; c++ {
		switch {
		case c == '"' || c == '\\':
		case c < utf8.RuneSelf:
			t[c] = plainASCII
		default:
			t[c] = plainNonASCII
		}
	}
	return t
}()

const (
	plainASCII    = 1 // an ASCII byte
	plainNonASCII = 2 // a byte of a multi-byte character, or of invalid UTF-8
)

// digits scans the digits of a number and reports whether there was one.
func (sc *jsonScanner) digits() bool {
	start := sc.i
	for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
		sc.i++
	}
	return sc.i > start
}

// number scans a number.
func (sc *jsonScanner) number() string {
	if sc.s[sc.i] == '-' {
		sc.i++
	}
	if sc.i < len(sc.s) && sc.s[sc.i] == '0' { // a leading 0 stands alone
		sc.i++
	} else if !sc.digits() {
		return sc.badNumber()
	}
	if sc.i < len(sc.s) && sc.s[sc.i] == '.' {
		sc.i++
		if !sc.digits() {
			return sc.badNumber()
		}
	}
	if sc.i < len(sc.s) && (sc.s[sc.i] == 'e' || sc.s[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.s) && (sc.s[sc.i] == '+' || sc.s[sc.i] == '-') {
			sc.i++
		}
		if !sc.digits() {
			return sc.badNumber()
		}
	}
	return ""
}

func (sc *jsonScanner) badNumber() string {
	if sc.i == len(sc.s) {
		return errJSONEnd
	}
	return "invalid character " + quoteChar(sc.s[sc.i]) + " in a number"
}

// literal scans true, false or null.
func (sc *jsonScanner) literal(lit string) string {
	for k := 0; k < len(lit); k++ {
		if sc.i == len(sc.s) {
			return errJSONEnd
		}
		if sc.s[sc.i] != lit[k] {
			return "invalid character " + quoteChar(sc.s[sc.i]) + " in literal " + lit
		}
		sc.i++
	}
	return ""
}

// quoteChar names a byte for a message: 'x', or its code for anything else.
func quoteChar(c byte) string {
	if c >= 0x20 && c < 0x7f && c != '\'' {
		return string([]byte{'\'', c, '\''})
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}
