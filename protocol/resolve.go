package protocol

// The resolve path of the module (edgeflag_flags, edgeflag_resolve): a host learns once per
// snapshot what each flag reads, hands the module only those attributes, and gets the
// variant and reason back in the call's return value, without JSON.
//
//	flags frame     = attributes:uvarint name:str* flags:uvarint flag*
//	flag            = key:str bits:uint8 variants:uvarint (name:str value:str)*
//	                  reads:uvarint attribute:uvarint*
//	indexed context = Marker count:uvarint (attribute:uvarint value)*
//
// The flags are in snapshot order: a flag's position is its index for edgeflag_resolve.
// value (in a flag) is the variant's value as JSON text; bits holds ReadsTime; the reads
// are the flag's snapshot.Reads, attribute indexes into the frame's names. An indexed
// context is a binary context (abi.go) with such an index in place of each name.
//
// edgeflag_resolve(index, n, atMillis) evaluates flag index for the indexed context in the
// first n bytes of the input buffer and returns Resolved(variant, reason), or 0 when it
// does not answer that way — an error result, a context it refuses, an index out of range
// — and the host takes the results-frame path (edgeflag_context, edgeflag_evaluate) for
// the whole answer. atMillis is a float64 holding an integer: a host passes a JavaScript
// number as it is.

import (
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// ReadsTime is the bit of a flag in a flags frame set when its result can depend on the
// time of evaluation (snapshot.Reads.Time).
const ReadsTime = 1

// ReasonCodes numbers the reasons edgeflag_resolve answers: ReasonCodes[c] is reason code
// c (0 is none: the host takes the results-frame path).
var ReasonCodes = [...]evaluator.Reason{"", evaluator.ReasonStatic, evaluator.ReasonTargetingMatch,
	evaluator.ReasonSplit, evaluator.ReasonDisabled, evaluator.ReasonDefault}

// Resolved packs a variant index and a reason code as edgeflag_resolve returns them:
// variant<<3 | reason.
func Resolved(variant int, reason evaluator.Reason) uint32 {
	for c := 1; c < len(ReasonCodes); c++ {
		if ReasonCodes[c] == reason {
			return uint32(variant)<<3 | uint32(c)
		}
	}
	return 0
}

// AppendFlagsFrame appends the flags frame of s.
func AppendFlagsFrame(dst []byte, s *snapshot.Snapshot) []byte {
	dst = appendUvarint(dst, uint64(len(s.Attributes)))
	for _, name := range s.Attributes {
		dst = appendString(dst, name)
	}
	dst = appendUvarint(dst, uint64(len(s.Flags)))
	for i, reads := range s.FlagReads() {
		f := &s.Flags[i]
		dst = appendString(dst, f.Key)
		if reads.Time {
			dst = append(dst, ReadsTime)
		} else {
			dst = append(dst, 0)
		}
		dst = appendUvarint(dst, uint64(len(f.Variants)))
		for _, v := range f.Variants {
			dst = appendString(dst, v.Name)
			dst = appendString(dst, v.JSON)
		}
		dst = appendUvarint(dst, uint64(len(reads.Attributes)))
		for _, a := range reads.Attributes {
			dst = appendUvarint(dst, uint64(a))
		}
	}
	return dst
}

// DecodeIndexed reads an indexed context into ctx, replacing its contents, with
// evaluator.Context.SetIndexed: the indexes refer to s.Attributes, and evaluations against
// s find the attributes without comparing names. Strings and lists share memory as with
// Decode. On error ctx is left empty and the error is an *evaluator.ContextError
// (PARSE_ERROR, or INVALID_CONTEXT for a rule broken).
func (d *ContextDecoder) DecodeIndexed(data []byte, s *snapshot.Snapshot, ctx *evaluator.Context) error {
	ctx.ResetIndexed(s)
	// The common context (under 128 attributes, each a string under 128 bytes or a bool,
	// see reader.indexedScalars) is read without decode's checks, which then read anything
	// else from the start.
	if len(data) >= 2 && data[0] == Marker && data[1] < 0x80 {
		r := reader{b: data, off: 2}
		if r.indexedScalars(uint64(data[1]), s, ctx) == 0 && r.off == len(data) && len(data) <= MaxContextSize {
			return nil
		}
		ctx.ResetIndexed(s)
	}
	if err := d.decode(data, ctx, s); err != nil {
		ctx.Reset()
		return err
	}
	return nil
}
