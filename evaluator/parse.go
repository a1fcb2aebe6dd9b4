package evaluator

import (
	"strconv"
)

// ContextError reports a context that could not be used: Code is PARSE_ERROR for
// malformed JSON and INVALID_CONTEXT for JSON that is not a flat object of strings,
// numbers, bools, nulls and lists of those.
type ContextError struct {
	Code   ErrorCode
	Offset int
	Reason string
}

func (e *ContextError) Error() string {
	return "context: " + e.Reason + " at byte " + strconv.Itoa(e.Offset)
}

// ParseContext reads a JSON object of attributes into ctx, replacing its contents:
//
//	{"userId":"u1","email":"a@company.com","betaProgram":true,"accountAgeDays":400,"groups":["a","b"]}
//
// Null values leave the attribute unset. A context over MaxContextAttributes or
// MaxContextListItems is refused with INVALID_CONTEXT as soon as the attribute that passes
// the limit is read. The parser is hand-written so that the WASM module
// does not need encoding/json; on error ctx is left empty.
func ParseContext(data []byte, ctx *Context) error {
	ctx.Reset()
	p := jsonParser{s: string(data)}
	p.space()
	if !p.consume('{') {
		return p.fail(ErrParse, "context must be a JSON object")
	}
	p.space()
	if !p.consume('}') {
		for {
			p.space()
			start := p.i
			name, err := p.str()
			if err != nil {
				ctx.Reset()
				return err
			}
			p.space()
			if !p.consume(':') {
				ctx.Reset()
				return p.fail(ErrParse, "expected ':'")
			}
			v, err := p.value(0)
			if err != nil {
				ctx.Reset()
				return err
			}
			if v.kind != Null {
				ctx.Set(name, v)
				// The limits apply while reading: a body of many attributes is refused
				// at the first one over, not after all of it has been read.
				if reason := ctx.LimitError(); reason != "" {
					ctx.Reset()
					return &ContextError{Code: ErrInvalidContext, Offset: start, Reason: reason}
				}
			}
			p.space()
			if p.consume(',') {
				continue
			}
			if p.consume('}') {
				break
			}
			ctx.Reset()
			return p.fail(ErrParse, "expected ',' or '}'")
		}
	}
	p.space()
	if p.i != len(p.s) {
		ctx.Reset()
		return p.fail(ErrParse, "trailing data after the object")
	}
	return nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) fail(code ErrorCode, reason string) error {
	return &ContextError{Code: code, Offset: p.i, Reason: reason}
}

func (p *jsonParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) value(depth int) (Value, error) {
	p.space()
	if p.i >= len(p.s) {
		return Value{}, p.fail(ErrParse, "unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		s, err := p.str()
		return String(s), err
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
				p.i += len(lit)
				switch lit {
				case "true":
					return Bool(true), nil
				case "false":
					return Bool(false), nil
				}
				return Value{}, nil
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '[':
		if depth >= 1 {
			return Value{}, p.fail(ErrInvalidContext, "nested lists are not supported")
		}
		p.i++
		var items []Value
		p.space()
		if p.consume(']') {
			return List(items...), nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return Value{}, err
			}
			if v.kind != Null {
				items = append(items, v)
			}
			p.space()
			if p.consume(',') {
				continue
			}
			if p.consume(']') {
				return List(items...), nil
			}
			return Value{}, p.fail(ErrParse, "expected ',' or ']'")
		}
	case c == '{':
		return Value{}, p.fail(ErrInvalidContext, "nested objects are not supported: flatten them (\"user.plan\")")
	}
	return Value{}, p.fail(ErrParse, "invalid value")
}

func (p *jsonParser) number() (Value, error) {
	start := p.i
	p.consume('-')
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return Value{}, p.fail(ErrParse, "invalid number")
	}
	if p.consume('.') && digits() == 0 {
		return Value{}, p.fail(ErrParse, "invalid number")
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if !p.consume('+') {
			p.consume('-')
		}
		if digits() == 0 {
			return Value{}, p.fail(ErrParse, "invalid number")
		}
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil {
		return Value{}, &ContextError{Code: ErrParse, Offset: start, Reason: "number out of range"}
	}
	return Number(f), nil
}

// str reads a JSON string literal.
func (p *jsonParser) str() (string, error) {
	if !p.consume('"') {
		return "", p.fail(ErrParse, "expected a string")
	}
	start := p.i - 1
	escaped := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if !escaped {
				return p.s[start+1 : p.i-1], nil
			}
			s, ok := unquoteJSON(p.s[start:p.i])
			if !ok {
				return "", &ContextError{Code: ErrParse, Offset: start, Reason: "invalid escape in string"}
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return "", p.fail(ErrParse, "control character in string")
		default:
			p.i++
		}
	}
	return "", p.fail(ErrParse, "unterminated string")
}

// EvaluateJSON parses a JSON context and evaluates flag key; a bad context gives an ERROR
// result with PARSE_ERROR or INVALID_CONTEXT.
func (e *Evaluator) EvaluateJSON(key string, contextJSON []byte, ctx *Context, atMillis int64) Result {
	if err := ParseContext(contextJSON, ctx); err != nil {
		ce := err.(*ContextError)
		return errorResult(key, ce.Code, ce.Error())
	}
	return e.EvaluateAt(key, ctx, atMillis)
}
