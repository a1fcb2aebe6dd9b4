package wire

import (
	"math"
	"strconv"
	"unsafe"

	"github.com/edgeflag/edgeflag/evaluator"
)

// AppendContext appends the binary encoding of ctx to dst. It allocates only when dst has
// to grow.
func AppendContext(dst []byte, ctx *evaluator.Context) []byte {
	names := ctx.Names()
	dst = append(dst, Marker)
	dst = appendUvarint(dst, uint64(len(names)))
	for _, name := range names {
		dst = appendString(dst, name)
		v := ctx.Get(name)
		if v.Kind() == evaluator.ListKind {
			items := v.Items()
			dst = append(dst, TagList)
			dst = appendUvarint(dst, uint64(len(items)))
			for _, item := range items {
				dst = appendScalar(dst, item)
			}
			continue
		}
		dst = appendScalar(dst, v)
	}
	return dst
}

// appendScalar appends a value that is not a list; a nested list is written as null, which
// matches no operator, the same as a nested list would.
func appendScalar(dst []byte, v evaluator.Value) []byte {
	switch v.Kind() {
	case evaluator.StringKind:
		dst = append(dst, TagString)
		return appendString(dst, v.Str())
	case evaluator.NumberKind:
		dst = append(dst, TagNumber)
		return appendUint64(dst, math.Float64bits(v.Num()))
	case evaluator.BoolKind:
		if v.Truth() {
			return append(dst, TagTrue)
		}
		return append(dst, TagFalse)
	}
	return append(dst, TagNull)
}

func appendString(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decoder reads binary contexts. Its zero value is ready to use. A Decoder reuses its
// space from call to call, so decoding does not allocate once it has seen a context of
// each size; it must not be used by more than one goroutine at a time.
type Decoder struct {
	items []evaluator.Value // backing store of list values
}

// Decode reads a binary context into ctx, replacing its contents. The strings set in ctx
// share memory with data, and its lists share the Decoder's space: ctx is valid while data
// is unchanged and until the Decoder's next Decode. On error ctx is left
// empty and the error is an *evaluator.ContextError whose Code is PARSE_ERROR for bytes
// that are not a binary context and INVALID_CONTEXT for a well-formed context that breaks
// a rule (empty name, nested list, a limit exceeded).
func (d *Decoder) Decode(data []byte, ctx *evaluator.Context) error {
	ctx.Reset()
	if err := d.decode(data, ctx); err != nil {
		ctx.Reset()
		return err
	}
	return nil
}

func (d *Decoder) decode(data []byte, ctx *evaluator.Context) error {
	r := reader{b: data}
	if len(data) > MaxContextSize {
		return invalid(0, "context larger than the limit of "+itoa(MaxContextSize)+" bytes")
	}
	if len(data) == 0 || data[0] != Marker {
		return parseError(0, "not a binary context (bad marker)")
	}
	r.off = 1
	n, ok := r.uvarint()
	if !ok {
		return r.truncated()
	}
	if n > MaxAttributes {
		return invalid(r.off, "more than "+itoa(MaxAttributes)+" attributes")
	}
	d.items = d.items[:0]
	for range n {
		start := r.off
		name, ok := r.str()
		if !ok {
			return r.truncated()
		}
		if name == "" {
			return invalid(start, "empty attribute name")
		}
		start = r.off
		tag, ok := r.byte()
		if !ok {
			return r.truncated()
		}
		if tag != TagList {
			r.off = start
			v, err := r.scalar()
			if err != nil {
				return err
			}
			if v.Kind() != evaluator.Null {
				ctx.Set(name, v)
			}
			continue
		}
		count, ok := r.uvarint()
		if !ok {
			return r.truncated()
		}
		if count > MaxListItems || uint64(len(d.items))+count > MaxListItems {
			return invalid(start, "more than "+itoa(MaxListItems)+" list items")
		}
		first := len(d.items)
		for range count {
			v, err := r.scalar()
			if err != nil {
				return err
			}
			d.items = append(d.items, v)
		}
		// The list aliases d.items; a later append that grows d.items moves the later
		// lists to a new array and leaves this one intact.
		ctx.Set(name, evaluator.List(d.items[first:len(d.items):len(d.items)]...))
	}
	if r.off != len(data) {
		return parseError(r.off, "trailing data after the context")
	}
	return nil
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) truncated() error { return parseError(r.off, "truncated context") }

func (r *reader) byte() (byte, bool) {
	if r.off >= len(r.b) {
		return 0, false
	}
	c := r.b[r.off]
	r.off++
	return c, true
}

func (r *reader) uvarint() (uint64, bool) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.b) {
			return 0, false
		}
		c := r.b[r.off]
		r.off++
		if shift == 63 && c > 1 {
			return 0, false // overflows 64 bits
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, true
		}
	}
	return 0, false
}

// str returns a string that shares memory with the input.
func (r *reader) str() (string, bool) {
	n, ok := r.uvarint()
	if !ok || n > uint64(len(r.b)-r.off) {
		return "", false
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	if len(b) == 0 {
		return "", true
	}
	return unsafe.String(&b[0], len(b)), true
}

func (r *reader) scalar() (evaluator.Value, error) {
	start := r.off
	tag, ok := r.byte()
	if !ok {
		return evaluator.Value{}, r.truncated()
	}
	switch tag {
	case TagNull:
		return evaluator.Value{}, nil
	case TagString:
		s, ok := r.str()
		if !ok {
			return evaluator.Value{}, r.truncated()
		}
		return evaluator.String(s), nil
	case TagNumber:
		if len(r.b)-r.off < 8 {
			return evaluator.Value{}, r.truncated()
		}
		b := r.b[r.off : r.off+8]
		f := math.Float64frombits(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
		r.off += 8
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return evaluator.Value{}, invalid(start, "number is not finite")
		}
		return evaluator.Number(f), nil
	case TagFalse:
		return evaluator.Bool(false), nil
	case TagTrue:
		return evaluator.Bool(true), nil
	case TagList:
		return evaluator.Value{}, invalid(start, "nested list")
	}
	return evaluator.Value{}, parseError(start, "unknown value tag "+itoa(int(tag)))
}

func parseError(off int, reason string) error {
	return &evaluator.ContextError{Code: evaluator.ErrParse, Offset: off, Reason: reason}
}

func invalid(off int, reason string) error {
	return &evaluator.ContextError{Code: evaluator.ErrInvalidContext, Offset: off, Reason: reason}
}

func itoa(i int) string { return strconv.Itoa(i) }

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func appendUint64(dst []byte, v uint64) []byte {
	return append(dst, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}
