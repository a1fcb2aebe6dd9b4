package protocol

import (
	"math"
	"unsafe"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// AppendContext appends the binary encoding of ctx to dst, leaving out the attributes set to
// Null (which the module would leave unset). It allocates only when dst has to grow.
func AppendContext(dst []byte, ctx *evaluator.Context) []byte {
	dst = append(dst, Marker)
	dst = appendUvarint(dst, uint64(ctx.Len()))
	for name, v := range ctx.All() {
		if v.Kind() == evaluator.Null {
			continue
		}
		dst = appendString(dst, name)
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

// appendString and appendUvarint are not inlined: they are called from many places of the
// module, where each inlined copy would cost module size (about 2 KB gzip in all).
//
//go:noinline
func appendString(dst []byte, s string) []byte {
	if len(s) < 0x80 { // the common length of one byte, without a call
		dst = append(dst, byte(len(s)))
	} else {
		dst = appendUvarint(dst, uint64(len(s)))
	}
	return append(dst, s...)
}

// ContextDecoder reads binary contexts. Its zero value is ready to use. A ContextDecoder reuses its
// space from call to call, so decoding does not allocate once it has seen a context of
// each size; it must not be used by more than one goroutine at a time.
type ContextDecoder struct {
	items []evaluator.Value // backing store of list values
}

// Decode reads a binary context into ctx, replacing its contents. The strings set in ctx
// share memory with data, and its lists share the ContextDecoder's space: ctx is valid while data
// is unchanged and until the ContextDecoder's next Decode. On error ctx is left
// empty and the error is an *evaluator.ContextError whose Code is PARSE_ERROR for bytes
// that are not a binary context and INVALID_CONTEXT for a well-formed context that breaks
// a rule (empty name, nested list, a limit exceeded).
func (d *ContextDecoder) Decode(data []byte, ctx *evaluator.Context) error {
	ctx.Reset()
	if err := d.decode(data, ctx, nil); err != nil {
		ctx.Reset()
		return err
	}
	return nil
}

// decode reads a binary context, or an indexed one (resolve.go) for snapshot s.
func (d *ContextDecoder) decode(data []byte, ctx *evaluator.Context, s *snapshot.Snapshot) error {
	if len(data) > MaxContextSize {
		return invalid(0, "context larger than the limit of 65536 bytes")
	}
	if len(data) == 0 || data[0] != Marker {
		return parseError(0, "not a binary context (bad marker)")
	}
	r := reader{b: data, off: 1}
	n := r.uvarint()
	if n > MaxAttributes {
		return invalid(r.off, "more than 1024 attributes")
	}
	d.items = d.items[:0]
	for ; n > 0 && r.err == nil; n-- {
		start := r.off
		var name string
		a := -1
		if s == nil {
			name = r.str()
			if name == "" && r.err == nil {
				return invalid(start, "empty attribute name")
			}
		} else if a = int(min(r.uvarint(), 1<<31)); a >= len(s.Attributes) && r.err == nil {
			return parseError(start, "attribute index out of range")
		}
		start = r.off
		var v evaluator.Value
		switch {
		case r.off < len(r.b) && r.b[r.off] == TagString:
			r.off++
			v = evaluator.String(r.str())
		case r.off >= len(r.b) || r.b[r.off] != TagList:
			v = r.scalar()
		default:
			r.off++
			count := r.uvarint()
			if count > MaxListItems-uint64(len(d.items)) {
				return invalid(start, "more than 4096 list items")
			}
			first := len(d.items)
			for ; count > 0 && r.err == nil; count-- {
				d.items = append(d.items, r.scalar())
			}
			// The list aliases d.items; a later append that grows d.items moves the later
			// lists to a new array and leaves this one intact.
			v = evaluator.List(d.items[first:len(d.items):len(d.items)]...)
		}
		switch {
		case r.err != nil || v.Kind() == evaluator.Null:
		case s != nil:
			ctx.SetIndexed(a, v)
		default:
			ctx.Set(name, v)
		}
	}
	if r.err == nil && r.off != len(data) {
		return parseError(r.off, "trailing data after the context")
	}
	return r.err
}

// indexedScalars reads the attributes of an indexed context, up to n, while they are in
// the common form: an index and a string length of one byte each, or a bool, all within
// the data. It returns how many it left (DecodeIndexed then reads the context again with
// decode, which reads every form).
func (r *reader) indexedScalars(n uint64, s *snapshot.Snapshot, ctx *evaluator.Context) uint64 {
	b, off, attrs := r.b, r.off, len(s.Attributes)
	for ; n > 0 && off+1 < len(b); n-- {
		a, tag := int(b[off]), b[off+1]
		if a >= 0x80 || a >= attrs { // an index of more bytes, or one out of range
			break
		}
		if tag == TagTrue || tag == TagFalse {
			ctx.SetIndexedBool(a, tag == TagTrue)
			off += 2
			continue
		}
		if tag != TagString || off+2 >= len(b) {
			break
		}
		size := int(b[off+2])
		if size >= 0x80 || size > len(b)-off-3 {
			break
		}
		ctx.SetIndexedString(a, unsafe.String(unsafe.SliceData(b[off+3:]), size))
		off += 3 + size
	}
	r.off = off
	return n
}

// reader reads a binary context. The first problem is kept in err and stops the reading:
// later reads return zero values.
type reader struct {
	b   []byte
	off int
	err error
}

// fail, parseError and invalid are not inlined: cold paths, whose copies at every call
// site would cost the WASM module size.
//
//go:noinline
func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.off = len(r.b)
}

func (r *reader) uvarint() uint64 {
	if off := r.off; off < len(r.b) && r.b[off] < 0x80 {
		r.off = off + 1
		return uint64(r.b[off])
	}
	return r.uvarintLong()
}

func (r *reader) uvarintLong() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.b) {
			break
		}
		c := r.b[r.off]
		r.off++
		if shift == 63 && c > 1 {
			break // overflows 64 bits
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.fail(parseError(r.off, "truncated context"))
	return 0
}

// str returns a string that shares memory with the input.
func (r *reader) str() string {
	// A length under 128 is one byte: read here, without a call.
	var n uint64
	if off := r.off; off < len(r.b) && r.b[off] < 0x80 {
		n, r.off = uint64(r.b[off]), off+1
	} else {
		n = r.uvarintLong()
	}
	if n > uint64(len(r.b)-r.off) {
		r.truncated()
		return ""
	}
	s := unsafe.String(unsafe.SliceData(r.b[r.off:]), int(n))
	r.off += int(n)
	return s
}

func (r *reader) truncated() { r.fail(parseError(r.off, "truncated context")) }

func (r *reader) scalar() evaluator.Value {
	start := r.off
	if r.off >= len(r.b) {
		r.fail(parseError(r.off, "truncated context"))
		return evaluator.Value{}
	}
	tag := r.b[r.off]
	r.off++
	switch tag {
	case TagNull:
	case TagString:
		return evaluator.String(r.str())
	case TagNumber:
		if len(r.b)-r.off < 8 {
			r.fail(parseError(r.off, "truncated context"))
			break
		}
		b := r.b[r.off : r.off+8]
		f := math.Float64frombits(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
		r.off += 8
		if f-f != 0 { // NaN or ±Inf
			r.fail(invalid(start, "number is not finite"))
			break
		}
		return evaluator.Number(f)
	case TagFalse, TagTrue:
		return evaluator.Bool(tag == TagTrue)
	case TagList:
		r.fail(invalid(start, "nested list"))
	default:
		r.fail(parseError(start, "unknown value tag"))
	}
	return evaluator.Value{}
}

//go:noinline
func parseError(off int, reason string) error {
	return &evaluator.ContextError{Code: evaluator.ErrParse, Offset: off, Reason: reason}
}

//go:noinline
func invalid(off int, reason string) error {
	return &evaluator.ContextError{Code: evaluator.ErrInvalidContext, Offset: off, Reason: reason}
}

//go:noinline
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
