// Package ofrep serves the OpenFeature Remote Evaluation Protocol (OFREP v0.3.0) over
// HTTP: any OFREP provider — @openfeature/ofrep-provider in Node, the OFREP web provider,
// the Go, Java or .NET OFREP providers — can evaluate edgeflag flags without an
// edgeflag-specific SDK.
//
//	POST /ofrep/v1/evaluate/flags/{key}   one flag; 200, or 400/404/500 with an OFREP error body
//	POST /ofrep/v1/evaluate/flags         every flag; 200 with an ETag, 304 on If-None-Match
//
// The Handler speaks HTTP only: routing, authentication, CORS, reading the body within its
// limit. The protocol itself — the request body read into a context, the evaluation, the
// status codes, error bodies, reasons and ETags — is package protocol's, which a Backend
// runs: the native evaluator (Native) in process, or the WASM module, which exports the
// same package to the Go edge server, the Cloudflare Worker and the Lambda@Edge function.
package ofrep

import "github.com/edgeflag/edgeflag/protocol"

// Version describes the snapshot that answered an evaluation.
type Version = protocol.Version

// ReasonStyle chooses how the reasons the OFREP specification does not list (DEFAULT,
// STALE) are reported; see protocol.ReasonStyle.
type ReasonStyle = protocol.ReasonStyle

// Reason styles.
const (
	SpecReasons        = protocol.SpecReasons        // only OFREP's reasons (the default)
	OpenFeatureReasons = protocol.OpenFeatureReasons // OpenFeature's reasons, STALE included
)

// Backend answers OFREP requests for the Handler with package protocol. Implementations
// must be safe for concurrent use. Answer appends the response body to dst; the
// Response's ETag must stay valid until the next call on the same goroutine or be copied
// by then — the Handler copies it into the response headers at once. The error is non-nil
// only when the backend could not answer at all (the WASM module failed); the Handler
// answers 500 then.
type Backend interface {
	Answer(dst []byte, req *protocol.Request) (protocol.Response, error)
}
