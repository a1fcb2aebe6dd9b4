// Package protocol is edgeflag's one implementation of OFREP, the OpenFeature Remote
// Evaluation Protocol (v0.3.0), and of the calling convention of the WASM module that
// carries it to the edges.
//
// Every runtime answers OFREP through it: the native Go handler (package ofrep) calls it
// directly, and the WASM module (wasm/guest) exports it to the Go edge server, the
// Cloudflare Worker and the Lambda@Edge function, which only hand over the flag key of the
// path, the request body and If-None-Match, and send back the status, ETag and body it
// answers. The request body becomes a context (Parser), one flag or every flag is
// evaluated, and the answer is written with the OFREP error codes and status codes, the
// reason mapping of ReasonStyle, and an ETag for bulk evaluations (304 on If-None-Match).
//
// The package builds for GOOS=wasip1 without fmt, encoding/json or reflect.
package protocol

import "github.com/edgeflag/edgeflag/evaluator"

// DefaultMaxBodyBytes is the largest request body a host hands over; a larger one is
// refused with RefuseBody.
const DefaultMaxBodyBytes = 64 << 10

// Version describes the snapshot that answered an evaluation.
type Version struct {
	Snapshot    string // content hash of the snapshot (snapshot.Hash); "" when none is loaded
	Environment string
	Revision    string // source revision the snapshot was compiled from
	// Stale is true when the host serves a snapshot it could not refresh within its
	// grace period (the store is unreachable).
	Stale bool
}

// ReasonStyle chooses how the reasons the OFREP specification does not list (DEFAULT,
// STALE) are reported.
type ReasonStyle uint8

const (
	// SpecReasons reports only the reasons OFREP v0.3.0 lists (STATIC, TARGETING_MATCH,
	// SPLIT, DISABLED, UNKNOWN): DEFAULT goes out as UNKNOWN, with the evaluator's reason
	// in metadata "reason". A stale snapshot keeps the real reason and adds metadata
	// "stale": true. This is the default.
	SpecReasons ReasonStyle = iota
	// OpenFeatureReasons reports the evaluator's OpenFeature reason as is (DEFAULT
	// included), and STALE for every result of a stale snapshot (the real reason in
	// metadata "reason"), as the in-process Go provider does.
	OpenFeatureReasons
)

// Flag metadata keys. Every successful evaluation carries MetaDecision and MetaSnapshot;
// the others appear when they apply.
const (
	MetaDecision     = "decision"     // what decided: rule, ring, rollout, default, prerequisite, kill, disabled
	MetaRule         = "rule"         // the rule that matched (decision rule)
	MetaRing         = "ring"         // the ring the user is in (decision ring)
	MetaPrerequisite = "prerequisite" // the prerequisite flag that was not met (decision prerequisite)
	MetaSegment      = "segment"      // the segment whose membership matched
	MetaScheduleStep = "scheduleStep" // the schedule step in force (0-based)
	MetaBucket       = "bucket"       // the user's bucket, 0..999999, when a percentage looked at it
	MetaThreshold    = "threshold"    // the bound the bucket was compared with
	MetaSnapshot     = "snapshot"     // content hash of the snapshot that answered
	MetaReason       = "reason"       // the evaluator's own reason, when the reported one differs
	MetaStale        = "stale"        // true when the snapshot is outdated
)

// IsOFREPReason reports whether reason is one of the reasons the OFREP specification
// admits in a successful evaluation: STATIC, TARGETING_MATCH, SPLIT, DISABLED, UNKNOWN.
func IsOFREPReason(reason evaluator.Reason) bool {
	switch reason {
	case evaluator.ReasonStatic, evaluator.ReasonTargetingMatch, evaluator.ReasonSplit,
		evaluator.ReasonDisabled, "UNKNOWN":
		return true
	}
	return false
}

// HTTPStatus returns the OFREP status code for an evaluation error of one flag: 404 for
// FLAG_NOT_FOUND, 400 for PARSE_ERROR, INVALID_CONTEXT and TARGETING_KEY_MISSING, 500 for
// GENERAL and anything else.
func HTTPStatus(code evaluator.ErrorCode) int {
	switch code {
	case evaluator.ErrFlagNotFound:
		return 404
	case evaluator.ErrParse, evaluator.ErrInvalidContext, evaluator.ErrTargetingKeyMissing:
		return 400
	}
	return 500
}

// IsOFREPFailureCode reports whether code may appear in an OFREP evaluationFailure object
// (PARSE_ERROR, TARGETING_KEY_MISSING, INVALID_CONTEXT, GENERAL).
func IsOFREPFailureCode(code evaluator.ErrorCode) bool {
	switch code {
	case evaluator.ErrParse, evaluator.ErrTargetingKeyMissing, evaluator.ErrInvalidContext, evaluator.ErrGeneral:
		return true
	}
	return false
}
