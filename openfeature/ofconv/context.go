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
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

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

// ContextError reports an evaluation context that cannot be used. Code is always
// INVALID_CONTEXT; Attribute is the dotted name of the offending attribute, when there is
// one.
type ContextError struct {
	Code      evaluator.ErrorCode
	Attribute string
	Reason    string
}

func (e *ContextError) Error() string {
	if e.Attribute == "" {
		return "context: " + e.Reason
	}
	return "context attribute " + strconv.Quote(e.Attribute) + ": " + e.Reason
}

func invalid(attr, reason string) *ContextError {
	return &ContextError{Code: evaluator.ErrInvalidContext, Attribute: attr, Reason: reason}
}

// Fill replaces the contents of ctx with the attributes of an OpenFeature context:
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
	ctx.Reset()
	if err := fill(ctx, "", attrs, 0); err != nil {
		ctx.Reset()
		return err
	}
	tk := ctx.Get(TargetingKey)
	switch tk.Kind() {
	case evaluator.Null:
	case evaluator.StringKind:
		if tk.Str() == "" {
			ctx.Set(TargetingKey, evaluator.Value{})
			break
		}
		if ctx.Get(BucketingAttribute).Kind() == evaluator.Null {
			ctx.Set(BucketingAttribute, tk)
			if reason := ctx.LimitError(); reason != "" {
				ctx.Reset()
				return invalid("", reason)
			}
		}
	default:
		ctx.Reset()
		return invalid(TargetingKey, "must be a string")
	}
	return nil
}

func fill(ctx *evaluator.Context, prefix string, attrs map[string]any, depth int) error {
	if depth >= MaxDepth {
		return invalid(strings.TrimSuffix(prefix, "."), "objects nested deeper than "+strconv.Itoa(MaxDepth)+" levels")
	}
	// Sorted, so that the first error reported does not depend on map order.
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		full := prefix + name
		if name == "" {
			return invalid(full, "empty attribute name")
		}
		raw := attrs[name]
		if m, ok := raw.(map[string]any); ok {
			if err := fill(ctx, full+".", m, depth+1); err != nil {
				return err
			}
			continue
		}
		v, err := value(full, raw, false)
		if err != nil {
			return err
		}
		if v.Kind() == evaluator.Null {
			continue
		}
		if ctx.Get(full).Kind() != evaluator.Null {
			return invalid(full, "given twice (as a dotted name and inside an object)")
		}
		ctx.Set(full, v)
		// The limits apply while flattening: a context of many attributes is refused at
		// the first one over, whatever follows.
		if reason := ctx.LimitError(); reason != "" {
			return invalid("", reason)
		}
	}
	return nil
}

// value converts one Go value; inList rejects lists and objects inside lists.
func value(name string, raw any, inList bool) (evaluator.Value, error) {
	switch x := raw.(type) {
	case nil:
		return evaluator.Value{}, nil
	case string:
		return evaluator.String(x), nil
	case bool:
		return evaluator.Bool(x), nil
	case float64:
		return number(name, x)
	case float32:
		return number(name, float64(x))
	case int:
		return evaluator.Number(float64(x)), nil
	case int8:
		return evaluator.Number(float64(x)), nil
	case int16:
		return evaluator.Number(float64(x)), nil
	case int32:
		return evaluator.Number(float64(x)), nil
	case int64:
		return evaluator.Number(float64(x)), nil
	case uint:
		return evaluator.Number(float64(x)), nil
	case uint8:
		return evaluator.Number(float64(x)), nil
	case uint16:
		return evaluator.Number(float64(x)), nil
	case uint32:
		return evaluator.Number(float64(x)), nil
	case uint64:
		return evaluator.Number(float64(x)), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return evaluator.Value{}, invalid(name, "number "+string(x)+" is out of range")
		}
		return number(name, f)
	case time.Time:
		return evaluator.String(x.UTC().Format(time.RFC3339Nano)), nil
	case map[string]any:
		return evaluator.Value{}, invalid(name, "lists may hold only strings, numbers and bools, not objects")
	}
	if inList {
		switch raw.(type) {
		case []any, []string, []float64, []int, []bool:
			return evaluator.Value{}, invalid(name, "nested lists are not supported")
		}
		return evaluator.Value{}, invalid(name, fmt.Sprintf("unsupported value of Go type %T", raw))
	}
	switch x := raw.(type) {
	case []any:
		return list(name, x)
	case []string:
		return evaluator.Strings(x...), nil
	case []float64:
		return list(name, x)
	case []int:
		return list(name, x)
	case []bool:
		return list(name, x)
	}
	return evaluator.Value{}, invalid(name, fmt.Sprintf("unsupported value of Go type %T", raw))
}

func list[T any](name string, items []T) (evaluator.Value, error) {
	out := make([]evaluator.Value, 0, len(items))
	for _, item := range items {
		v, err := value(name, item, true)
		if err != nil {
			return evaluator.Value{}, err
		}
		if v.Kind() != evaluator.Null {
			out = append(out, v)
		}
	}
	return evaluator.List(out...), nil
}

func number(name string, f float64) (evaluator.Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return evaluator.Value{}, invalid(name, "number is not finite")
	}
	return evaluator.Number(f), nil
}
