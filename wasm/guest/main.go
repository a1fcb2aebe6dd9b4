//go:build wasip1

// Command guest is the edgeflag evaluator as a WebAssembly reactor module for WASI
// preview 1 hosts: wazero, Node.js and workerd (with edge/shared/wasi.mjs). Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o edgeflag.wasm ./wasm/guest
//
// A host instantiates it, calls _initialize once, then the edgeflag_* exports, whose
// calling convention package protocol describes (ABIVersion, the frames, the flag bits).
// Inputs go through one buffer in guest memory: the host asks edgeflag_buffer for room,
// writes the input there and calls an operation with the input's length. Every operation
// returns its output as ptr<<32|len: bytes in guest memory that stay valid until the
// next call.
//
// edgeflag_ofrep answers an OFREP request whole with package protocol — the same code the
// native Go handler runs — so every runtime answers the same bytes. edgeflag_context sets
// a binary context for edgeflag_evaluate and edgeflag_evaluate_all, which answer results
// frames (protocol.ReadResults): the results' JSON and, for each, its key and variant, or
// the refusal of the whole evaluation. Bad input (a corrupt snapshot, a malformed context, an input
// over a limit) yields an error answer, never a trap, and the instance stays usable. One
// instance must not be called concurrently.
package main

//lint:file-ignore U1000 the functions are called by the host through //go:wasmexport

import (
	"unsafe"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
)

// module is the instance's state. Everything handed to the host stays reachable from here.
type module struct {
	eval    *evaluator.Evaluator
	ctx     *evaluator.Context
	ctxErr  *evaluator.ContextError // why the current context was refused, or nil
	ctxData []byte                  // the current context's bytes, which ctx's strings share
	dec     protocol.ContextDecoder
	answer  *protocol.Answerer
	res     protocol.ResultsBuilder
	version protocol.Version // the snapshot loaded
	in      []byte           // the input buffer; its whole capacity is usable
	out     []byte           // the last output
	body    []byte           // the last OFREP response body
}

var m = module{
	eval:   evaluator.New(nil),
	ctx:    evaluator.NewContext(),
	answer: protocol.NewAnswerer(),
	in:     make([]byte, 4096),
	out:    make([]byte, 0, 4096),
}

func main() {}

// abi returns the version of this calling convention (protocol.ABIVersion).
//
//go:wasmexport edgeflag_abi
func abi() uint32 { return protocol.ABIVersion }

// buffer returns the address of an input buffer of at least size bytes, or 0 when size is
// over the largest input the module accepts. The address changes when the buffer grows.
//
//go:wasmexport edgeflag_buffer
func buffer(size uint32) uint32 {
	if size > protocol.MaxSnapshotSize {
		return 0
	}
	if int(size) > len(m.in) {
		n := 2 * len(m.in)
		for n < int(size) {
			n *= 2
		}
		m.in = make([]byte, min(n, protocol.MaxSnapshotSize))
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(m.in))))
}

// load decodes and verifies the snapshot in the first n bytes of the input buffer and
// makes it the one evaluated; with protocol.LoadVerified in flags the host has verified
// its content hash already and the module does not hash it again. A snapshot that fails
// leaves the previous one in place.
//
//go:wasmexport edgeflag_load
func load(n, flags uint32) (packed uint64) {
	defer func() {
		if p := recover(); p != nil {
			packed = m.loadFail(evaluator.ErrGeneral, "internal error")
		}
	}()
	if int(n) > len(m.in) {
		return m.loadFail(evaluator.ErrGeneral, "input length outside the buffer")
	}
	data := m.in[:n]
	var err error
	if flags&protocol.LoadVerified == 0 {
		err = snapshot.Verify(data)
	}
	var s *snapshot.Snapshot
	if err == nil {
		s, err = snapshot.DecodeVerified(data)
	}
	if err != nil {
		return m.loadFail(evaluator.ErrParse, err.Error())
	}
	hash, _ := snapshot.Hash(data) // Decode has checked the header
	m.eval.Swap(s)
	m.version = protocol.Version{Snapshot: hash, Environment: s.Environment, Revision: s.Revision}
	if len(m.in) > 1<<20 {
		m.in = make([]byte, 4096) // let the collector reuse the snapshot's input space
	}
	m.out = protocol.AppendLoadFrame(m.out[:0], protocol.LoadInfo{Hash: hash, Environment: s.Environment, Revision: s.Revision, Flags: len(s.Flags)}, nil)
	return m.output()
}

// ofrep answers an OFREP request: the flag key, the body and If-None-Match follow each
// other in the input buffer; at is the time of evaluation in Unix milliseconds; flags
// holds protocol.Flag* bits. It answers an OFREP frame.
//
//go:wasmexport edgeflag_ofrep
func ofrep(keyLen, bodyLen, inmLen uint32, at int64, flags uint32) (packed uint64) {
	defer m.recoverOFREP(&packed)
	total := uint64(keyLen) + uint64(bodyLen) + uint64(inmLen)
	if total > uint64(len(m.in)) {
		return m.ofrepFrame(protocol.Response{Status: 500, Body: protocol.AppendGeneralError(m.body[:0], "input length outside the buffer")})
	}
	in := m.in[:total]
	req := protocol.Request{
		Key:         unsafe.String(unsafe.SliceData(in), int(keyLen)),
		Bulk:        flags&protocol.FlagBulk != 0,
		Body:        in[keyLen : keyLen+bodyLen],
		IfNoneMatch: unsafe.String(unsafe.SliceData(in[keyLen+bodyLen:]), int(inmLen)),
		At:          at,
	}
	if flags&protocol.FlagOpenFeatureReasons != 0 {
		req.Reasons = protocol.OpenFeatureReasons
	}
	switch {
	case flags&protocol.FlagBodyTooLarge != 0:
		req.BodyError = &protocol.Error{Code: evaluator.ErrInvalidContext, Details: string(req.Body)}
	case flags&protocol.FlagBodyUnreadable != 0:
		req.BodyError = &protocol.Error{Code: evaluator.ErrParse, Details: string(req.Body)}
	case flags&protocol.FlagBodyUnavailable != 0:
		req.BodyError = &protocol.Error{Code: evaluator.ErrGeneral, Details: string(req.Body)}
	}
	v := m.version
	v.Stale = flags&protocol.FlagStale != 0
	res := m.answer.Answer(m.body[:0], m.eval, v, &req)
	m.body = res.Body
	return m.ofrepFrame(res)
}

// ofrepFrame makes res, whose body is not in m.out, the output.
func (m *module) ofrepFrame(res protocol.Response) uint64 {
	m.out = protocol.AppendOFREPFrame(m.out[:0], res)
	return m.output()
}

// recoverOFREP turns a panic into a 500 answer so that the instance stays usable.
func (m *module) recoverOFREP(packed *uint64) {
	if p := recover(); p != nil {
		*packed = m.ofrepFrame(protocol.Response{Status: 500, Body: protocol.AppendGeneralError(m.body[:0], "internal error")})
	}
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
	case n > protocol.MaxContextSize:
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
// protocol.Flag* bits. It answers a results frame of one result.
//
//go:wasmexport edgeflag_evaluate
func evaluate(keyLen uint32, at int64, flags uint32) (packed uint64) {
	if uint64(keyLen) > uint64(len(m.in)) {
		return m.failResult("", evaluator.ErrGeneral, "input length outside the buffer")
	}
	key := unsafe.String(unsafe.SliceData(m.in), int(keyLen))
	defer m.recover(&packed, key)
	if keyLen > protocol.MaxKeySize {
		return m.failResult(key[:protocol.MaxKeySize], evaluator.ErrFlagNotFound, "flag key longer than the limit of 256 bytes")
	}
	if m.ctxErr != nil {
		return m.failResult(key, m.ctxErr.Code, m.ctxErr.Error())
	}
	m.res.Begin(m.out[:0])
	m.add(key, at, flags)
	m.out = m.res.Finish()
	return m.output()
}

// evaluateAll evaluates every flag for the current context, in key order. It answers a
// results frame.
//
//go:wasmexport edgeflag_evaluate_all
func evaluateAll(at int64, flags uint32) (packed uint64) {
	defer m.recover(&packed, "")
	var b evaluator.Batch
	if !b.Begin(m.eval, m.ctx, at, flags&protocol.FlagStale != 0) {
		return m.fail(evaluator.ErrGeneral, "no snapshot loaded")
	}
	if m.ctxErr != nil {
		return m.fail(m.ctxErr.Code, m.ctxErr.Error())
	}
	m.res.Begin(m.out[:0])
	for i := range b.Flags() {
		out, variant, ok := b.AppendJSON(m.res.Next(), i)
		m.res.Add(out, b.Key(i), variant, ok)
	}
	m.out = m.res.Finish()
	return m.output()
}

// add evaluates flag key, for a context the module took, into the results frame being
// built.
func (m *module) add(key string, at int64, flags uint32) {
	out, variant, ok := m.eval.AppendFlagJSON(m.res.Next(), key, m.ctx, at, flags&protocol.FlagStale != 0)
	m.res.Add(out, key, variant, ok)
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

func (m *module) loadFail(code evaluator.ErrorCode, msg string) uint64 {
	m.out = protocol.AppendLoadFrame(m.out[:0], protocol.LoadInfo{}, &protocol.Error{Code: code, Details: msg})
	return m.output()
}

// fail answers an error object: edgeflag_context's refusal of a context, and
// edgeflag_evaluate_all's refusal of the whole evaluation.
func (m *module) fail(code evaluator.ErrorCode, msg string) uint64 {
	m.out = evaluator.AppendErrorJSON(m.out[:0], code, msg)
	return m.output()
}

// failResult answers a results frame of one error result.
func (m *module) failResult(key string, code evaluator.ErrorCode, msg string) uint64 {
	m.res.Begin(m.out[:0])
	m.res.Add(evaluator.AppendErrorResultJSON(m.res.Next(), key, code, msg), key, "", false)
	m.out = m.res.Finish()
	return m.output()
}

func (m *module) output() uint64 {
	ptr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.out))))
	return ptr<<32 | uint64(len(m.out))
}
