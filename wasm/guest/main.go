//go:build wasip1

// Command guest is the edgeflag evaluator as a WebAssembly reactor module for WASI
// preview 1 hosts: wazero, Node.js (node:wasi), workerd. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o edgeflag.wasm ./wasm/guest
//
// A host instantiates it, calls _initialize once, then the edgeflag_* exports. Inputs go
// through one buffer in guest memory: the host asks edgeflag_buffer for room, writes the
// input there and calls an operation with the input's length. Every operation returns its
// output as ptr<<32|len: bytes in guest memory that stay valid until the next call.
//
// The context is set once (edgeflag_context, in the binary encoding of package wire) and
// then any number of flags are evaluated for it, so a host that evaluates several flags
// for one request pays for the context once. Bad input (a corrupt snapshot, a malformed
// context, an unknown flag, an input over a limit of package wire) yields an error
// object, never a trap, and the instance stays usable. One instance must not be called
// concurrently.
//
// Outputs:
//
//	edgeflag_load:          {"hash":"<sha256>","environment":"production","revision":"...","flags":24}
//	edgeflag_context:       nothing (len 0), or the error object of a context it refuses
//	edgeflag_evaluate:      {"key":"f","value":true,"variant":"on","reason":"SPLIT","decision":{...}}
//	edgeflag_evaluate_all:  {"flags":[<one result per flag, in key order>]}
//	errors:                 {"errorCode":"PARSE_ERROR","errorMessage":"..."} (a result with
//	                        "key" and "reason":"ERROR" for edgeflag_evaluate)
//
// A refused context is remembered: evaluations report its error until the next
// edgeflag_context.
package main

//lint:file-ignore U1000 the functions are called by the host through //go:wasmexport

import (
	"unsafe"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/wire"
	"github.com/edgeflag/edgeflag/snapshot"
)

// module is the instance's state. Everything handed to the host stays reachable from here.
type module struct {
	eval    *evaluator.Evaluator
	ctx     *evaluator.Context
	ctxErr  *evaluator.ContextError // why the current context was refused, or nil
	ctxData []byte                  // the current context's bytes, which ctx's strings share
	dec     wire.Decoder
	in      []byte // the input buffer; its whole capacity is usable
	out     []byte // the last output
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
	o := append(m.out[:0], `{"hash":"`...)
	o = append(o, hash...) // hex digits
	o = append(o, `","environment":`...)
	o = evaluator.AppendJSONString(o, s.Environment)
	o = append(o, `,"revision":`...)
	o = evaluator.AppendJSONString(o, s.Revision)
	o = append(o, `,"flags":`...)
	o = appendUint(o, uint64(len(s.Flags)))
	m.out = append(o, '}')
	return m.output()
}

// context makes the binary context in the first n bytes of the input buffer the one
// evaluated. It returns nothing, or the error object of a context it refuses (which
// evaluations then report).
//
//go:wasmexport edgeflag_context
func context(n uint32) (packed uint64) {
	defer m.recoverContext(&packed)
	m.ctxErr = nil
	switch {
	case int(n) > len(m.in):
		m.ctxErr = &evaluator.ContextError{Code: evaluator.ErrGeneral, Reason: "input length outside the buffer"}
	case n > wire.MaxContextSize:
		m.ctxErr = &evaluator.ContextError{Code: evaluator.ErrInvalidContext,
			Reason: "context larger than the limit of 65536 bytes"}
	case n == 0:
		m.ctx.Reset()
	default:
		// The context's strings share its bytes, which must outlive the input buffer's
		// next use.
		m.ctxData = append(m.ctxData[:0], m.in[:n]...)
		if err := m.dec.Decode(m.ctxData, m.ctx); err != nil {
			m.ctxErr = err.(*evaluator.ContextError)
		}
	}
	if m.ctxErr != nil {
		m.ctx.Reset()
		return m.fail(m.ctxErr.Code, m.ctxErr.Error())
	}
	m.out = m.out[:0]
	return m.output()
}

// evaluate evaluates one flag, whose key is the first keyLen bytes of the input buffer,
// for the current context; at is the time of evaluation in Unix milliseconds; flags holds
// wire.Flag* bits.
//
//go:wasmexport edgeflag_evaluate
func evaluate(keyLen uint32, at int64, flags uint32) (packed uint64) {
	if uint64(keyLen) > uint64(len(m.in)) {
		return m.failResult("", evaluator.ErrGeneral, "input length outside the buffer")
	}
	key := unsafe.String(unsafe.SliceData(m.in), int(keyLen))
	defer m.recover(&packed, key)
	if keyLen > wire.MaxKeySize {
		return m.failResult(key[:wire.MaxKeySize], evaluator.ErrFlagNotFound, "flag key longer than the limit of 256 bytes")
	}
	if m.ctxErr != nil {
		return m.failResult(key, m.ctxErr.Code, m.ctxErr.Error())
	}
	m.out = m.eval.AppendResultJSON(m.out[:0], key, m.ctx, at, flags&wire.FlagStale != 0)
	return m.output()
}

// evaluateAll evaluates every flag for the current context.
//
//go:wasmexport edgeflag_evaluate_all
func evaluateAll(at int64, flags uint32) (packed uint64) {
	defer m.recover(&packed, "")
	if m.eval.Snapshot() == nil {
		return m.fail(evaluator.ErrGeneral, "no snapshot loaded")
	}
	if m.ctxErr != nil {
		return m.fail(m.ctxErr.Code, m.ctxErr.Error())
	}
	m.out = m.eval.AppendAllJSON(m.out[:0], m.ctx, at, flags&wire.FlagStale != 0)
	return m.output()
}

// recover turns a panic into a GENERAL error output so that the instance stays usable.
func (m *module) recover(packed *uint64, key string) {
	if p := recover(); p != nil {
		if key != "" {
			*packed = m.failResult(key, evaluator.ErrGeneral, "internal error")
			return
		}
		*packed = m.fail(evaluator.ErrGeneral, "internal error")
	}
}

// recoverContext is recover for edgeflag_context: the context, maybe half read, is
// refused.
func (m *module) recoverContext(packed *uint64) {
	if p := recover(); p != nil {
		m.ctx.Reset()
		m.ctxErr = &evaluator.ContextError{Code: evaluator.ErrGeneral, Reason: "internal error"}
		*packed = m.fail(evaluator.ErrGeneral, "internal error")
	}
}

func (m *module) fail(code evaluator.ErrorCode, msg string) uint64 {
	m.out = evaluator.AppendErrorJSON(m.out[:0], code, msg)
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
