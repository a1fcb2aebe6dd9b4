package protocol

// The calling convention of the WASM module (wasm/guest), shared by the module and its
// hosts:
//
//   - edgeflag_abi() returns ABIVersion; hosts refuse a module that speaks another.
//   - edgeflag_buffer(size) returns the address of an input buffer of at least size bytes.
//   - edgeflag_load(n, flags) loads the snapshot in the buffer, verifying its content
//     hash unless flags has LoadVerified; it answers a load frame.
//   - edgeflag_ofrep(keyLen, bodyLen, inmLen, atMillis, flags) answers an OFREP request
//     whose flag key, body and If-None-Match follow each other in the buffer (Flag*
//     bits); it answers an OFREP frame.
//   - edgeflag_context(n), edgeflag_evaluate(keyLen, atMillis, flags) and
//     edgeflag_evaluate_all(atMillis, flags) set a context in the binary encoding below and
//     evaluate flags for it, answering results frames (ReadResults: the results' JSON and
//     each result's key and variant; the /evaluate path of the edges and the
//     differential tests).
//   - edgeflag_flags() answers the flags frame of the snapshot loaded, and
//     edgeflag_resolve(index, n, atMillis) evaluates one flag for an indexed context and
//     answers in its uint32 result (resolve.go): the SDK path of JavaScript hosts.
//
// Every other export answers ptr<<32|len: bytes in guest memory valid until the next call.
//
// Frames:
//
//	OFREP frame = status:uint16le etagLen:uint8 etag body
//	load frame  = 0 hash:str environment:str revision:str flags:uvarint    (success)
//	            | 1 code:str message:str                                  (refused)
//	str         = len:uvarint bytes
//
// Contexts cross the boundary as the OFREP request body (JSON, read in the module with a
// Parser) or, for the other exports, in the binary encoding:
//
//	context   = Marker count:uvarint attribute*
//	attribute = nameLen:uvarint name:bytes value
//	value     = TagNull
//	          | TagString len:uvarint bytes
//	          | TagNumber float64 (8 bytes, little-endian IEEE 754)
//	          | TagFalse | TagTrue
//	          | TagList count:uvarint scalar*      (scalar: any value but a list)
//
// Attribute names must be non-empty; a later attribute of the same name replaces an earlier
// one; a null attribute is left unset.

import (
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Marker is the first byte of a binary context. JSON never starts with it.
const Marker = 0xEC

// Value tags of the binary context encoding.
const (
	TagNull   = 0
	TagString = 1
	TagNumber = 2
	TagFalse  = 3
	TagTrue   = 4
	TagList   = 5
)

// Limits the module enforces. Larger inputs get an error result, never a trap. The
// context limits are the evaluator's, which hosts apply while reading a context.
const (
	MaxSnapshotSize = snapshot.MaxSize               // bytes of an encoded snapshot (what the compiler and publisher allow)
	MaxContextSize  = evaluator.MaxContextSize       // bytes of an encoded context (hosts apply it to JSON too)
	MaxKeySize      = 256                            // bytes of a flag key
	MaxAttributes   = evaluator.MaxContextAttributes // attributes of one context
	MaxListItems    = evaluator.MaxContextListItems  // items of all lists of one context together
)

// Flag bits of an evaluation call.
const (
	// FlagStale says the host is serving a snapshot older than its grace period: OFREP
	// answers say so, and edgeflag_evaluate reports successful results with reason STALE.
	FlagStale = 1 << 0
	// FlagOpenFeatureReasons selects OpenFeatureReasons for an OFREP answer.
	FlagOpenFeatureReasons = 1 << 1
	// FlagBulk asks edgeflag_ofrep for every flag; the key is ignored.
	FlagBulk = 1 << 2
	// FlagBodyTooLarge, FlagBodyUnreadable and FlagBodyUnavailable say the host could not
	// hand over the body: the body slot holds the reason, answered as 400
	// INVALID_CONTEXT, 400 PARSE_ERROR, or 500 (the runtime was not set up to pass
	// bodies on).
	FlagBodyTooLarge    = 1 << 3
	FlagBodyUnreadable  = 1 << 4
	FlagBodyUnavailable = 1 << 5
)

// LoadVerified, in edgeflag_load's flags, says the host has verified the snapshot's
// content hash (the SHA-256 of the payload against the hash its pointer names) and the
// module need not hash it again. Without it the module verifies.
const LoadVerified = 1 << 0

// AppendOFREPFrame appends r as an OFREP frame.
func AppendOFREPFrame(dst []byte, r Response) []byte {
	dst = append(dst, byte(r.Status), byte(r.Status>>8), byte(len(r.ETag)))
	dst = append(dst, r.ETag...)
	return append(dst, r.Body...)
}

// ReadOFREPFrame reads an OFREP frame; the response shares its bytes.
func ReadOFREPFrame(frame []byte) (Response, bool) {
	if len(frame) < 3 || len(frame) < 3+int(frame[2]) {
		return Response{}, false
	}
	n := 3 + int(frame[2])
	r := Response{Status: int(frame[0]) | int(frame[1])<<8, Body: frame[n:]}
	if n > 3 {
		r.ETag = frame[3:n]
	}
	return r, true
}

// LoadInfo is what edgeflag_load answers for a snapshot it loaded.
type LoadInfo struct {
	Hash        string // the content hash (snapshot.Hash)
	Environment string
	Revision    string
	Flags       int
}

// AppendLoadFrame appends a load frame: info, or the refusal err when it is not nil.
func AppendLoadFrame(dst []byte, info LoadInfo, err *Error) []byte {
	if err != nil {
		dst = append(dst, 1)
		dst = appendString(dst, string(err.Code))
		return appendString(dst, err.Details)
	}
	dst = append(dst, 0)
	dst = appendString(dst, info.Hash)
	dst = appendString(dst, info.Environment)
	dst = appendString(dst, info.Revision)
	return appendUvarint(dst, uint64(info.Flags))
}

// ReadLoadFrame reads a load frame: the snapshot loaded, or the module's refusal. ok is
// false for bytes that are not a load frame.
func ReadLoadFrame(frame []byte) (info LoadInfo, refused *Error, ok bool) {
	r := reader{b: frame}
	if len(frame) == 0 {
		return info, nil, false
	}
	r.off = 1
	if frame[0] == 1 {
		code := r.str()
		msg := r.str()
		refused = &Error{Code: evaluator.ErrorCode(clone(code)), Details: clone(msg)}
		return info, refused, r.err == nil && r.off == len(frame)
	}
	info.Hash, info.Environment, info.Revision = clone(r.str()), clone(r.str()), clone(r.str())
	info.Flags = int(r.uvarint())
	return info, nil, frame[0] == 0 && r.err == nil && r.off == len(frame)
}

// ABIVersion is returned by the module's edgeflag_abi export. Hosts refuse a module whose
// ABI version differs from the one they were written for.
//
// Version 5 adds edgeflag_flags and edgeflag_resolve, and takes edgeflag_load's flags
// (LoadVerified: the host verified the snapshot's hash, the module does not hash it
// again). Version 4 answers edgeflag_evaluate and edgeflag_evaluate_all with results frames
// instead of JSON alone; version 3 answers OFREP requests in the module (edgeflag_ofrep) and snapshot loads as
// binary frames; version 2 set the context once for any number of evaluations; version 1
// took a JSON or binary context with every evaluation.
const ABIVersion = 5

// clone copies s out of the frame it shares.
func clone(s string) string { return string([]byte(s)) }
