// Package ofrep serves the OpenFeature Remote Evaluation Protocol (OFREP v0.3.0) over
// HTTP: any OFREP provider — @openfeature/ofrep-provider in Node, the OFREP web provider,
// the Go, Java or .NET OFREP providers — can evaluate edgeflag flags without an
// edgeflag-specific SDK.
//
//	POST /ofrep/v1/evaluate/flags/{key}   one flag; 200, or 400/404/500 with an OFREP error body
//	POST /ofrep/v1/evaluate/flags         every flag; 200 with an ETag, 304 on If-None-Match
//
// The Handler does not evaluate by itself: it speaks HTTP and JSON on top of a Source,
// which the native evaluator (Native) and the WASM evaluator host both implement. Request
// contexts are flattened the OpenFeature way (see package ofconv): nested objects become
// dotted attributes and targetingKey doubles as userId.
package ofrep

import (
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
)

// Version describes the snapshot that answered an evaluation.
type Version struct {
	Snapshot    string // content hash of the snapshot (snapshot.Hash); "" when none is loaded
	Environment string
	Revision    string // source revision the snapshot was compiled from
	// Stale is true when the host serves a snapshot it could not refresh within its
	// grace period (the store is unreachable).
	Stale bool
}

// Source evaluates flags for the Handler. Implementations must be safe for concurrent use.
// Each call reports the Version of the snapshot it evaluated against, read atomically with
// the evaluation, so a response never mixes the results of one snapshot with the version
// of another.
type Source interface {
	// Evaluate evaluates flag key for ctx at time at. Errors (an unknown flag, a missing
	// bucketing attribute, no snapshot loaded) are reported in the result, with Reason
	// ERROR and an error code.
	Evaluate(key string, ctx *evaluator.Context, at time.Time) (evaluator.Result, Version)
	// EvaluateAll appends the results of every flag, in key order, to dst. It fails only
	// when it cannot evaluate at all: the context is refused as a whole (an
	// *ofconv.ContextError, which the Handler answers with 400), no snapshot is loaded,
	// the evaluator is unavailable.
	EvaluateAll(ctx *evaluator.Context, at time.Time, dst []evaluator.Result) ([]evaluator.Result, Version, error)
}
