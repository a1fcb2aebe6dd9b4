// Package ofconv converts between OpenFeature and the native evaluator: evaluation contexts
// in, reasons, error codes and flag metadata out. The in-process Go provider and the OFREP
// handler both use it, so a flag evaluated through either speaks the same dialect.
//
// An OpenFeature context is a tree: {"targetingKey":"u1","user":{"plan":"pro"}}. The
// evaluator reads flat attributes, so Fill flattens nested objects with dots (user.plan),
// and copies targetingKey to userId — the default bucketing attribute — when the context
// has no userId of its own.
package ofconv

import (
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
)

// TargetingKey is the OpenFeature attribute naming the subject of an evaluation.
const TargetingKey = protocol.TargetingKey

// BucketingAttribute is the attribute that targetingKey fills in when the context does not
// set it: the project's default bucketing attribute.
const BucketingAttribute = protocol.BucketingAttribute

// MaxDepth bounds the nesting of objects in a context, as protocol.Parser does.
const MaxDepth = protocol.MaxDepth

// ContextError reports an evaluation context that cannot be used: Code is
// INVALID_CONTEXT and Message says which attribute and why, in the words of protocol's
// Parser, which every host reads contexts with.
type ContextError struct {
	Code    evaluator.ErrorCode
	Message string
}

func (e *ContextError) Error() string { return e.Message }

// Fill replaces the contents of ctx with the attributes of an OpenFeature context, by the
// rules every host reads contexts with (protocol.ParseValues, which shares them with the
// OFREP handler's JSON parser):
//
//   - strings, bools and numbers (any Go integer or float type, json.Number) become
//     attributes of the same kind; time.Time becomes an RFC 3339 string;
//   - nested objects (map[string]any) are flattened with dots: {"user":{"plan":"pro"}}
//     sets user.plan;
//   - lists ([]any, []string, []float64, []int, []bool) become lists and may hold only
//     strings, numbers and bools;
//   - nil values are left unset;
//   - a non-empty string targetingKey is kept as targetingKey and also set as userId when
//     the context has no userId.
//
// A context over the evaluator's limits (evaluator.MaxContextAttributes attributes,
// evaluator.MaxContextListItems list items, counted after flattening, userId included) is
// an INVALID_CONTEXT *ContextError, reported as soon as flattening passes the limit.
//
// Anything else — a name given twice (as "user.plan" and inside "user"), an empty name, a
// non-finite number, a nested list, an unsupported Go type, a non-string targetingKey —
// is an INVALID_CONTEXT *ContextError, and ctx is left empty.
func Fill(ctx *evaluator.Context, attrs map[string]any) error {
	if err := protocol.ParseValues(attrs, ctx); err != nil {
		return &ContextError{Code: err.Code, Message: err.Details}
	}
	return nil
}
