//go:build wasip1

// Command guest is the edgeflag evaluator as a WebAssembly reactor module for WASI
// preview 1 hosts: wazero, Node.js (node:wasi), workerd. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o edgeflag.wasm ./wasm/guest
//
// A host instantiates it, calls _initialize once, then the edgeflag_* exports. Inputs go
// through one buffer in guest memory: the host asks edgeflag_buffer for room, writes the
// input there and calls an operation with the input's lengths. Every operation returns its
// output as ptr<<32|len: JSON bytes in guest memory that stay valid until the next call.
// Bad input (a corrupt snapshot, a malformed context, an unknown flag, an input over a
// limit of package wire) yields an error object, never a trap, and the instance stays
// usable. One instance must not be called concurrently.
//
// Outputs:
//
//	edgeflag_load:          {"hash":"<sha256>","environment":"production","revision":"...","flags":24}
//	edgeflag_evaluate:      {"key":"f","value":true,"variant":"on","reason":"SPLIT","decision":{...}}
//	edgeflag_evaluate_all:  {"flags":[<one result per flag, in key order>]}
//	errors:                 {"errorCode":"PARSE_ERROR","errorMessage":"..."} (a result with
//	                        "key" and "reason":"ERROR" for edgeflag_evaluate)
package main

//lint:file-ignore U1000 the functions are called by the host through //go:wasmexport

import (
	"time"
	"unsafe"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/wasm/wire"
)

// module is the instance's state. Everything handed to the host stays reachable from here.
type module struct {
	eval    *evaluator.Evaluator
	ctx     *evaluator.Context
	dec     wire.Decoder
	in      []byte // the input buffer; its whole capacity is usable
	out     []byte // the last output
	results []evaluator.Result
}

var m = module{
	eval: evaluator.New(nil),
	ctx:  evaluator.NewContext(),
	in:   make([]byte, 4096),
	out:  make([]byte, 0, 4096),
}

func main() {}

// abi returns the version of this calling convention (wire.ABIVersion).
//
//go:wasmexport edgeflag_abi
func abi() uint32 { return wire.ABIVersion }

// buffer returns the address of an input buffer of at least size bytes, or 0 when size is
// over the largest input the module accepts. The address changes when the buffer grows.
//
//go:wasmexport edgeflag_buffer
func buffer(size uint32) uint32 {
	if size > wire.MaxSnapshotSize {
		return 0
	}
	if int(size) > len(m.in) {
		n := 2 * len(m.in)
		for n < int(size) {
			n *= 2
		}
		m.in = make([]byte, min(n, wire.MaxSnapshotSize))
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(m.in))))
}

// load decodes and verifies the snapshot in the first n bytes of the input buffer and
// makes it the one evaluated. A snapshot that fails leaves the previous one in place.
//
//go:wasmexport edgeflag_load
func load(n uint32) (packed uint64) {
	defer m.recover(&packed, "")
	if int(n) > len(m.in) {
		return m.fail(evaluator.ErrGeneral, "input length outside the buffer")
	}
	data := m.in[:n]
	s, err := snapshot.Decode(data)
	if err != nil {
		return m.fail(evaluator.ErrParse, err.Error())
	}
	hash, _ := snapshot.Hash(data) // Decode has checked the header
	m.eval.Swap(s)
	if len(m.in) > 1<<20 {
		m.in = make([]byte, 4096) // let the collector reuse the snapshot's input space
	}
	o := append(m.out[:0], `{"hash":`...)
	o = appendString(o, hash)
	o = append(o, `,"environment":`...)
	o = appendString(o, s.Environment)
	o = append(o, `,"revision":`...)
	o = appendString(o, s.Revision)
	o = append(o, `,"flags":`...)
	o = appendUint(o, uint64(len(s.Flags)))
	m.out = append(o, '}')
	return m.output()
}

// evaluate evaluates one flag. The input buffer holds the flag key (keyLen bytes) followed
// by the context (ctxLen bytes, binary or JSON); at is the time of evaluation in Unix
// milliseconds; flags holds wire.Flag* bits.
//
//go:wasmexport edgeflag_evaluate
func evaluate(keyLen, ctxLen uint32, at int64, flags uint32) (packed uint64) {
	if uint64(keyLen)+uint64(ctxLen) > uint64(len(m.in)) {
		return m.failResult("", evaluator.ErrGeneral, "input length outside the buffer")
	}
	key := unsafe.String(unsafe.SliceData(m.in), int(keyLen))
	defer m.recover(&packed, key)
	if keyLen > wire.MaxKeySize {
		return m.failResult(key[:wire.MaxKeySize], evaluator.ErrFlagNotFound, "flag key longer than the limit of 256 bytes")
	}
	if err := m.context(m.in[keyLen : keyLen+ctxLen]); err != nil {
		return m.failResult(key, err.Code, err.Error())
	}
	r := m.eval.Evaluate(key, m.ctx, time.UnixMilli(at))
	if flags&wire.FlagStale != 0 && r.Reason != evaluator.ReasonError {
		r.Reason = evaluator.ReasonStale
	}
	m.out = r.AppendJSON(m.out[:0])
	return m.output()
}

// evaluateAll evaluates every flag for the context in the first ctxLen bytes of the input
// buffer.
//
//go:wasmexport edgeflag_evaluate_all
func evaluateAll(ctxLen uint32, at int64, flags uint32) (packed uint64) {
	defer m.recover(&packed, "")
	if int(ctxLen) > len(m.in) {
		return m.fail(evaluator.ErrGeneral, "input length outside the buffer")
	}
	if m.eval.Snapshot() == nil {
		return m.fail(evaluator.ErrGeneral, "no snapshot loaded")
	}
	if err := m.context(m.in[:ctxLen]); err != nil {
		return m.fail(err.Code, err.Error())
	}
	m.results = m.eval.EvaluateAll(m.ctx, time.UnixMilli(at), m.results[:0])
	o := append(m.out[:0], `{"flags":[`...)
	for i := range m.results {
		r := &m.results[i]
		if flags&wire.FlagStale != 0 && r.Reason != evaluator.ReasonError {
			r.Reason = evaluator.ReasonStale
		}
		if i > 0 {
			o = append(o, ',')
		}
		o = r.AppendJSON(o)
	}
	m.out = append(o, "]}"...)
	return m.output()
}

// context reads a binary or JSON context into m.ctx.
func (m *module) context(data []byte) *evaluator.ContextError {
	var err error
	switch {
	case len(data) > wire.MaxContextSize:
		return &evaluator.ContextError{Code: evaluator.ErrInvalidContext, Offset: 0,
			Reason: "context larger than the limit of 65536 bytes"}
	case len(data) == 0:
		m.ctx.Reset()
	case data[0] == wire.Marker:
		err = m.dec.Decode(data, m.ctx)
	default:
		err = evaluator.ParseContext(data, m.ctx)
	}
	if err != nil {
		if ce, ok := err.(*evaluator.ContextError); ok {
			return ce
		}
		return &evaluator.ContextError{Code: evaluator.ErrParse, Reason: err.Error()}
	}
	return nil
}

// recover turns a panic into a GENERAL error output so that the instance stays usable.
func (m *module) recover(packed *uint64, key string) {
	if p := recover(); p != nil {
		m.ctx.Reset()
		if key != "" {
			*packed = m.failResult(key, evaluator.ErrGeneral, "internal error")
			return
		}
		*packed = m.fail(evaluator.ErrGeneral, "internal error")
	}
}

func (m *module) fail(code evaluator.ErrorCode, msg string) uint64 {
	o := append(m.out[:0], `{"errorCode":`...)
	o = appendString(o, string(code))
	o = append(o, `,"errorMessage":`...)
	o = appendString(o, msg)
	m.out = append(o, '}')
	return m.output()
}

func (m *module) failResult(key string, code evaluator.ErrorCode, msg string) uint64 {
	r := evaluator.Result{Key: key, Reason: evaluator.ReasonError, Error: code, Message: msg,
		Decision: evaluator.Decision{Index: -1, Step: -1}}
	m.out = r.AppendJSON(m.out[:0])
	return m.output()
}

func (m *module) output() uint64 {
	ptr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.out))))
	return ptr<<32 | uint64(len(m.out))
}

// appendString appends s as a JSON string, escaped the way evaluator.Result.AppendJSON
// escapes strings.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}
