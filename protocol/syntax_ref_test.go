package protocol

// The OFREP body check as it was before it moved to snapshot.CheckJSON, kept as the
// reference that FuzzCheckJSONMessages holds the messages of Parser to.

import (
	"strconv"

	"github.com/edgeflag/edgeflag/evaluator"
)

type refParser struct {
	s     string
	i     int
	stack []byte
}

func (p *refParser) refSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// refValidate checks that p.s is exactly one JSON value (RFC 8259), surrounded by
// whitespace at most, nested at most maxSkipDepth deep. Its errors are PARSE_ERROR.
func (p *refParser) refValidate() *Error {
	p.i = 0
	p.stack = p.stack[:0]
	for {
		// A value is expected.
		p.refSpace()
		if p.i == len(p.s) {
			return p.refSyntax("unexpected end of JSON input")
		}
		switch c := p.s[p.i]; {
		case c == '{' || c == '[':
			if len(p.stack) >= maxSkipDepth {
				return p.refSyntax("JSON nested deeper than " + strconv.Itoa(maxSkipDepth) + " levels")
			}
			p.stack = append(p.stack, c)
			p.i++
			p.refSpace()
			if p.i < len(p.s) && (c == '{' && p.s[p.i] == '}' || c == '[' && p.s[p.i] == ']') {
				p.i++
				p.stack = p.stack[:len(p.stack)-1]
				break
			}
			if c == '{' {
				if err := p.refMember(); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if err := p.refString(); err != nil {
				return err
			}
		case c == 't':
			if err := p.refLiteral("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := p.refLiteral("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := p.refLiteral("null"); err != nil {
				return err
			}
		case c == '-' || c >= '0' && c <= '9':
			if err := p.refNumber(); err != nil {
				return err
			}
		default:
			return p.refSyntax("invalid character " + refQuoteChar(c) + " where a value is expected")
		}
		// A value ended: close containers or go on to the next element.
		for {
			p.refSpace()
			if len(p.stack) == 0 {
				if p.i != len(p.s) {
					return p.refSyntax("invalid character " + refQuoteChar(p.s[p.i]) + " after the JSON value")
				}
				return nil
			}
			if p.i == len(p.s) {
				return p.refSyntax("unexpected end of JSON input")
			}
			open := p.stack[len(p.stack)-1]
			c := p.s[p.i]
			if c == ',' {
				p.i++
				if open == '{' {
					p.refSpace()
					if err := p.refMember(); err != nil {
						return err
					}
				}
				break
			}
			if open == '{' && c == '}' || open == '[' && c == ']' {
				p.i++
				p.stack = p.stack[:len(p.stack)-1]
				continue
			}
			if open == '{' {
				return p.refSyntax("invalid character " + refQuoteChar(c) + " after an object member: expected ',' or '}'")
			}
			return p.refSyntax("invalid character " + refQuoteChar(c) + " after a list element: expected ',' or ']'")
		}
	}
}

// member checks an object member's name and colon.
func (p *refParser) refMember() *Error {
	if p.i == len(p.s) {
		return p.refSyntax("unexpected end of JSON input")
	}
	if p.s[p.i] != '"' {
		return p.refSyntax("invalid character " + refQuoteChar(p.s[p.i]) + " where an object member name is expected")
	}
	if err := p.refString(); err != nil {
		return err
	}
	p.refSpace()
	if p.i == len(p.s) {
		return p.refSyntax("unexpected end of JSON input")
	}
	if p.s[p.i] != ':' {
		return p.refSyntax("invalid character " + refQuoteChar(p.s[p.i]) + " after an object member name: expected ':'")
	}
	p.i++
	return nil
}

func (p *refParser) refString() *Error {
	p.i++
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return nil
		case c < 0x20:
			return p.refSyntax("control character " + refQuoteChar(c) + " in a string")
		case c == '\\':
			if p.i+1 == len(p.s) {
				return p.refSyntax("unexpected end of JSON input")
			}
			switch p.s[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if p.i+k >= len(p.s) {
						return p.refSyntax("unexpected end of JSON input")
					}
					if !refIsHex(p.s[p.i+k]) {
						p.i += k
						return p.refSyntax("invalid character " + refQuoteChar(p.s[p.i]) + ` in a \u escape`)
					}
				}
				p.i += 6
			default:
				p.i++
				return p.refSyntax("invalid escape " + refQuoteChar(p.s[p.i]) + " in a string")
			}
		default:
			p.i++
		}
	}
	return p.refSyntax("unexpected end of JSON input")
}

func (p *refParser) refNumber() *Error {
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	bad := func() *Error {
		if p.i == len(p.s) {
			return p.refSyntax("unexpected end of JSON input")
		}
		return p.refSyntax("invalid character " + refQuoteChar(p.s[p.i]) + " in a number")
	}
	if p.s[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return bad()
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return bad()
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return bad()
		}
	}
	return nil
}

func (p *refParser) refLiteral(lit string) *Error {
	for k := 0; k < len(lit); k++ {
		if p.i == len(p.s) {
			return p.refSyntax("unexpected end of JSON input")
		}
		if p.s[p.i] != lit[k] {
			return p.refSyntax("invalid character " + refQuoteChar(p.s[p.i]) + " in literal " + lit)
		}
		p.i++
	}
	return nil
}

// syntax reports a PARSE_ERROR at the current byte.
func (p *refParser) refSyntax(what string) *Error {
	return &Error{evaluator.ErrParse, "invalid JSON: " + what + " (at byte " + strconv.Itoa(p.i) + ")"}
}

func refIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// quoteChar names a byte for an error message: 'x', or its code for anything else.
func refQuoteChar(c byte) string {
	if c >= 0x20 && c < 0x7f && c != '\'' {
		return string([]byte{'\'', c, '\''})
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}
