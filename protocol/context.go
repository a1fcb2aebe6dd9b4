package protocol

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Context rules of OpenFeature, which every host applies the same way because they all
// read contexts with a Parser.
const (
	// TargetingKey is the OpenFeature attribute naming the subject of an evaluation.
	TargetingKey = "targetingKey"
	// BucketingAttribute is the attribute targetingKey fills in when the context does not
	// set it: the evaluator's default bucketing attribute.
	BucketingAttribute = "userId"
	// MaxDepth bounds the nesting of objects inside a context.
	MaxDepth = 32
	// maxSkipDepth bounds the nesting of the JSON values a request body may carry outside
	// its context.
	maxSkipDepth = 512
)

// Error is a request or context refused: Code is PARSE_ERROR for bytes that are not
// JSON and INVALID_CONTEXT for JSON that is not a usable context. Its message is the
// project's own and is the same in every runtime.
type Error struct {
	Code    evaluator.ErrorCode
	Details string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Details }

// Parser reads evaluation contexts, the OFREP and OpenFeature way:
//
//   - strings, numbers and booleans become attributes of the same kind; null leaves the
//     attribute unset;
//   - nested objects are flattened with dots: {"user":{"plan":"pro"}} sets user.plan;
//   - lists hold strings, numbers and booleans (nulls in them are dropped);
//   - a non-empty string targetingKey is also set as userId when the context has no
//     userId; an empty one is left unset; any other type is refused.
//
// An attribute given twice (as "user.plan" and inside "user", or twice in one object),
// an empty name, a number out of range, a nested list, an object in a list, objects
// nested deeper than MaxDepth, or a context over evaluator.MaxContextAttributes or
// evaluator.MaxContextListItems is INVALID_CONTEXT. Invalid UTF-8 and lone surrogates
// in strings become U+FFFD.
//
// The zero value is ready to use. A Parser reuses its space: the strings and lists it
// sets in a context share memory with the input and with the Parser, so the context is
// valid while the input is unchanged and until the Parser's next call. It must not be
// used by more than one goroutine at a time. It allocates only while its space grows.
type Parser struct {
	s     string
	i     int
	ctx   *evaluator.Context
	names []byte            // dotted names and unescaped strings
	items []evaluator.Value // backing store of lists
}

// The rules of flattening a context, which Parser applies to JSON and ParseValues to Go
// values: one implementation, so that every reader of contexts builds the same attributes
// and refuses the same contexts with the same words.

// Why an attribute is refused.
const (
	reasonEmptyName    = "empty attribute name"
	reasonTwice        = "given twice (as a dotted name and inside an object, or twice in one object)"
	reasonObjectInList = "lists may hold only strings, numbers and bools, not objects"
	reasonNestedList   = "nested lists are not supported"
	reasonTooDeep      = "objects nested deeper than 32 levels" // MaxDepth
	reasonOutOfRange   = " is out of range"                     // after "number " and the number
	// errTargetingKeyType is the refusal of a targetingKey that is not a string.
	errTargetingKeyType = `context attribute "targetingKey": must be a string`
)

// invalidAttribute refuses attribute name (dotted) for reason.
func invalidAttribute(name, reason string) *Error {
	return &Error{evaluator.ErrInvalidContext, "context attribute " + quote(name) + ": " + reason}
}

// setAttribute sets attribute name (dotted) of a context being read to v: a name given
// twice is refused, null leaves it unset, and the limits apply as soon as an attribute
// passes them (the rest of the context is not read).
func setAttribute(ctx *evaluator.Context, name string, v evaluator.Value) *Error {
	if ctx.Get(name).Kind() != evaluator.Null {
		return invalidAttribute(name, reasonTwice)
	}
	if v.Kind() != evaluator.Null {
		ctx.Set(name, v)
		if reason := ctx.LimitError(); reason != "" {
			return &Error{evaluator.ErrInvalidContext, "context: " + reason}
		}
	}
	return nil
}

// applyTargetingKey applies the targetingKey rule to a context read in full: a non-empty
// string targetingKey is also set as userId when the context has no userId; an empty one
// is left unset; any other type is refused.
func applyTargetingKey(ctx *evaluator.Context) *Error {
	tk := ctx.Get(TargetingKey)
	switch tk.Kind() {
	case evaluator.Null:
	case evaluator.StringKind:
		if tk.Str() == "" {
			ctx.Set(TargetingKey, evaluator.Value{})
			break
		}
		if ctx.Get(BucketingAttribute).Kind() == evaluator.Null {
			ctx.Set(BucketingAttribute, tk)
			if reason := ctx.LimitError(); reason != "" {
				return &Error{evaluator.ErrInvalidContext, "context: " + reason}
			}
		}
	default:
		return &Error{evaluator.ErrInvalidContext, errTargetingKeyType}
	}
	return nil
}

// ParseRequest reads an OFREP request body, {"context":{...}}, into ctx, replacing its
// contents. A body without "context", or with "context": null, gives an empty context;
// when "context" is given twice the last one counts. Any JSON may follow in other
// members, which are ignored.
func (p *Parser) ParseRequest(body []byte, ctx *evaluator.Context) *Error {
	ctx.Reset()
	p.s, p.i = unsafe.String(unsafe.SliceData(body), len(body)), 0
	if p.space(); p.i == len(p.s) {
		return &Error{evaluator.ErrParse, `empty request body: send {"context":{...}}`}
	}
	if err := p.start(body, ctx); err != nil {
		return err
	}
	p.space()
	if p.s[p.i] != '{' {
		return &Error{evaluator.ErrParse, `request body must be a JSON object: {"context":{...}}`}
	}
	// Find the last "context" member; CheckJSON has checked the syntax.
	p.i++
	ctxAt := -1
	for {
		p.space()
		if p.s[p.i] == '}' {
			break
		}
		name := p.str()
		p.space()
		p.i++ // ':'
		p.space()
		if name == "context" {
			ctxAt = p.i
		}
		p.skip()
		p.space()
		if p.s[p.i] == ',' {
			p.i++
		}
	}
	p.names = p.names[:0]
	if ctxAt < 0 || p.s[ctxAt] == 'n' {
		return nil
	}
	p.i = ctxAt
	if p.s[p.i] != '{' {
		return &Error{evaluator.ErrInvalidContext, `"context" must be a JSON object of attributes`}
	}
	return p.finish(ctx)
}

// ParseContext reads a context object, {"targetingKey":"u1","plan":"pro"}, into ctx,
// replacing its contents: what the command line, the simulator and the hosts' own
// contexts use.
func (p *Parser) ParseContext(data []byte, ctx *evaluator.Context) *Error {
	ctx.Reset()
	if err := p.start(data, ctx); err != nil {
		return err
	}
	p.space()
	if p.i == len(p.s) || p.s[p.i] != '{' {
		return &Error{evaluator.ErrInvalidContext, "a context must be a JSON object of attributes"}
	}
	p.names = p.names[:0]
	return p.finish(ctx)
}

// start checks that data is one JSON value and gets ready to read it.
func (p *Parser) start(data []byte, ctx *evaluator.Context) *Error {
	p.s = unsafe.String(unsafe.SliceData(data), len(data))
	p.ctx = ctx
	p.items = p.items[:0]
	if problem, at := snapshot.CheckJSON(p.s, requestJSON); problem != "" {
		return &Error{evaluator.ErrParse, "invalid JSON: " + problem + " (at byte " + strconv.Itoa(at) + ")"}
	}
	p.i = 0
	return nil
}

// requestJSON is the syntax of request bodies and contexts: whitespace around the value
// allowed, invalid UTF-8 in strings read as U+FFFD, nesting bounded by maxSkipDepth.
var requestJSON = snapshot.JSONOptions{MaxDepth: maxSkipDepth, Space: true}

// CheckJSON follows at most snapshot.MaxJSONNesting levels: this fails to compile if
// maxSkipDepth is over it.
const _ = uint(snapshot.MaxJSONNesting - maxSkipDepth)

// finish reads the object at p.i into ctx and applies the targetingKey rule.
func (p *Parser) finish(ctx *evaluator.Context) *Error {
	err := p.object(0, 0, 0)
	if err == nil {
		err = applyTargetingKey(ctx)
	}
	if err != nil {
		ctx.Reset()
	}
	return err
}

// object reads the members of the object at p.i, their names prefixed with
// p.names[ps:pe] (dotted).
func (p *Parser) object(ps, pe, depth int) *Error {
	if depth >= MaxDepth {
		return invalidAttribute(p.arena(ps, pe-1), reasonTooDeep)
	}
	p.i++ // '{'
	for {
		p.space()
		if p.s[p.i] == '}' {
			p.i++
			return nil
		}
		raw := p.str()
		name := raw
		if pe > ps {
			at := len(p.names)
			p.names = append(p.names, p.names[ps:pe]...)
			p.names = append(p.names, raw...)
			name = p.arena(at, len(p.names))
		}
		if raw == "" {
			return invalidAttribute(name, reasonEmptyName)
		}
		p.space()
		p.i++ // ':'
		p.space()
		if p.s[p.i] == '{' {
			at := len(p.names)
			p.names = append(p.names, name...)
			p.names = append(p.names, '.')
			if err := p.object(at, len(p.names), depth+1); err != nil {
				return err
			}
		} else {
			v, err := p.value(name, false)
			if err == nil {
				err = setAttribute(p.ctx, name, v)
			}
			if err != nil {
				return err
			}
		}
		p.space()
		if p.s[p.i] == ',' {
			p.i++
		}
	}
}

// arena returns p.names[from:to] as a string sharing its bytes: the arena only grows
// during a parse, so the bytes do not change while the context is in use.
func (p *Parser) arena(from, to int) string {
	if to <= from {
		return ""
	}
	return unsafe.String(&p.names[from], to-from)
}

// value reads a scalar or a list; name is p.names[:end].
func (p *Parser) value(name string, inList bool) (evaluator.Value, *Error) {
	switch c := p.s[p.i]; {
	case c == '"':
		return evaluator.String(p.str()), nil
	case c == 't':
		p.i += 4
		return evaluator.Bool(true), nil
	case c == 'f':
		p.i += 5
		return evaluator.Bool(false), nil
	case c == 'n':
		p.i += 4
		return evaluator.Value{}, nil
	case c == '{':
		return evaluator.Value{}, invalidAttribute(name, reasonObjectInList)
	case c == '[':
		if inList {
			return evaluator.Value{}, invalidAttribute(name, reasonNestedList)
		}
		p.i++
		first := len(p.items)
		for {
			p.space()
			if p.s[p.i] == ']' {
				p.i++
				break
			}
			v, err := p.value(name, true)
			if err != nil {
				return v, err
			}
			if v.Kind() != evaluator.Null {
				p.items = append(p.items, v)
			}
			p.space()
			if p.s[p.i] == ',' {
				p.i++
			}
		}
		return evaluator.List(p.items[first:len(p.items):len(p.items)]...), nil
	}
	start := p.i
	p.number()
	f := parseNumber(p.s[start:p.i])
	if math.IsInf(f, 0) {
		return evaluator.Value{}, invalidAttribute(name, "number "+p.s[start:p.i]+reasonOutOfRange)
	}
	return evaluator.Number(f), nil
}

// space is not inlined: its copies at its many call sites would cost the WASM module
// 1.2 KB gzip.
//
//go:noinline
func (p *Parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// str reads a string that CheckJSON has checked: without escapes or invalid UTF-8 it
// shares the input's bytes, else it is decoded into the arena.
func (p *Parser) str() string {
	p.i++ // '"'
	start := p.i
	plain := true
	for {
		c := p.s[p.i]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			p.i += 2
			continue
		}
		if c >= utf8.RuneSelf {
			plain = false
		}
		p.i++
	}
	raw := p.s[start:p.i]
	p.i++
	if plain || (utf8.ValidString(raw) && !hasByte(raw, '\\')) {
		return raw
	}
	at := len(p.names)
	p.names = appendUnquoted(p.names, raw)
	return p.arena(at, len(p.names))
}

func hasByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// appendUnquoted decodes the body of a valid JSON string: escapes resolved, invalid
// UTF-8 and lone surrogates replaced by U+FFFD.
func appendUnquoted(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' {
			switch e := s[i+1]; e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if r >= 0xd800 && r < 0xe000 { // a surrogate: valid only as a high-low pair
					r2 := rune(-1)
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2 = hex4(s[i+2 : i+6])
					}
					if r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000 {
						r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		r <<= 4
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// number skips a number that CheckJSON has checked.
func (p *Parser) number() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			p.i++
		default:
			return
		}
	}
}

// skip passes over a value that CheckJSON has checked.
func (p *Parser) skip() {
	depth := 0
	for {
		switch c := p.s[p.i]; c {
		case '"':
			p.str()
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			depth--
			p.i++
		case 't', 'n':
			p.i += 4
		case 'f':
			p.i += 5
		case ',', ':', ' ', '\t', '\n', '\r':
			p.i++
		default:
			p.number()
		}
		if depth == 0 {
			return
		}
	}
}

// exactPow10 are the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber reads a JSON number that CheckJSON has checked. Numbers of up to 15
// significant digits with a decimal exponent within ±22 — what contexts hold — are read
// exactly (correctly rounded); longer or larger ones to within a unit in the last place.
// It is not strconv.ParseFloat because that one's tables would add 10 KB to the WASM
// module; every runtime reads numbers with this function, so they all read the same value.
func parseNumber(s string) float64 {
	neg := false
	if s[0] == '-' {
		neg, s = true, s[1:]
	}
	var mant uint64
	exp, digits := 0, 0
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if digits < 19 {
			mant = mant*10 + uint64(s[i]-'0')
			if mant != 0 {
				digits++
			}
		} else {
			exp++
		}
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if digits < 19 {
				mant = mant*10 + uint64(s[i]-'0')
				if mant != 0 {
					digits++
				}
				exp--
			}
		}
	}
	if i < len(s) { // 'e' or 'E'
		i++
		eneg := false
		if s[i] == '+' || s[i] == '-' {
			eneg = s[i] == '-'
			i++
		}
		e := 0
		for ; i < len(s); i++ {
			if e < 10000 {
				e = e*10 + int(s[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	var f float64
	switch {
	case mant == 0:
	case mant < 1<<53 && exp >= 0 && exp < len(exactPow10):
		f = float64(mant) * exactPow10[exp]
	case mant < 1<<53 && exp < 0 && -exp < len(exactPow10):
		f = float64(mant) / exactPow10[-exp]
	case exp > 400:
		f = math.Inf(1)
	case exp < -400:
	case exp < 0:
		// Two steps keep the intermediate within range for the smallest numbers.
		f = float64(mant) * math.Pow10(exp/2) * math.Pow10(exp-exp/2)
	default:
		f = float64(mant) * math.Pow10(exp)
	}
	if neg {
		f = -f
	}
	return f
}
