// Package wire defines what crosses the boundary between a host and the WASM evaluator
// module: the compact binary encoding of an evaluation context, the limits the module
// enforces on its inputs, and the flag bits of an evaluation call.
//
// Contexts cross the boundary in the binary encoding below, which is cheaper to produce and
// to read than JSON and which the module reads without allocating; hosts parse contexts
// that arrive as JSON (evaluator.ParseContext) and send them in this encoding. The first
// byte tells it from JSON:
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
// one; a null attribute is left unset. The package builds for GOOS=wasip1 and avoids fmt.
package wire

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
	// FlagStale asks the module to report every successful result with reason STALE: the
	// host is serving a snapshot older than its grace period.
	FlagStale = 1 << 0
)

// ABIVersion is returned by the module's edgeflag_abi export. Hosts refuse a module whose
// ABI version differs from the one they were written for.
//
// Version 2 sets the context once (edgeflag_context, binary encoding only) for any number
// of evaluations; version 1 took a JSON or binary context with every evaluation.
const ABIVersion = 2
