//go:build !wasip1

package protocol

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
)

// ParseValues reads an evaluation context held as Go values — the attributes of the
// OpenFeature Go SDK's EvaluationContext, targetingKey included — into ctx, replacing its
// contents, by the rules of Parser and with its words: nested maps (map[string]any) are
// flattened with dots, nil leaves an attribute unset, lists hold strings, numbers and
// bools, a non-empty string targetingKey is also set as userId, and the evaluator's
// limits apply while reading.
//
// Beside the types JSON decodes to it takes every Go integer and float type, json.Number,
// time.Time (as an RFC 3339 string in UTC) and the lists []string, []float64, []int and
// []bool. A non-finite number and any other Go type are INVALID_CONTEXT. The names of a
// map are read in sorted order, so the error reported does not depend on map order. On
// error ctx is left empty. It is not part of the WASM module, whose hosts hand it JSON.
func ParseValues(attrs map[string]any, ctx *evaluator.Context) *Error {
	ctx.Reset()
	err := flattenValues(ctx, "", attrs, 0)
	if err == nil {
		err = applyTargetingKey(ctx)
	}
	if err != nil {
		ctx.Reset()
	}
	return err
}

// flattenValues reads the members of attrs, their names prefixed with prefix (dotted).
func flattenValues(ctx *evaluator.Context, prefix string, attrs map[string]any, depth int) *Error {
	if depth >= MaxDepth {
		return invalidAttribute(prefix[:max(len(prefix)-1, 0)], reasonTooDeep)
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, raw := range names {
		name := prefix + raw
		if raw == "" {
			return invalidAttribute(name, reasonEmptyName)
		}
		if m, ok := attrs[raw].(map[string]any); ok {
			if err := flattenValues(ctx, name+".", m, depth+1); err != nil {
				return err
			}
			continue
		}
		v, err := goValue(name, attrs[raw], false)
		if err == nil {
			err = setAttribute(ctx, name, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// goValue converts a scalar or a list of attribute name; inList refuses lists and maps.
func goValue(name string, raw any, inList bool) (evaluator.Value, *Error) {
	switch x := raw.(type) {
	case nil:
		return evaluator.Value{}, nil
	case string:
		return evaluator.String(x), nil
	case bool:
		return evaluator.Bool(x), nil
	case float64:
		return goNumber(name, x)
	case float32:
		return goNumber(name, float64(x))
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
			return evaluator.Value{}, invalidAttribute(name, "number "+string(x)+reasonOutOfRange)
		}
		return goNumber(name, f)
	case time.Time:
		return evaluator.String(x.UTC().Format(time.RFC3339Nano)), nil
	case map[string]any:
		return evaluator.Value{}, invalidAttribute(name, reasonObjectInList)
	}
	if inList {
		switch raw.(type) {
		case []any, []string, []float64, []int, []bool:
			return evaluator.Value{}, invalidAttribute(name, reasonNestedList)
		}
		return evaluator.Value{}, unsupported(name, raw)
	}
	switch x := raw.(type) {
	case []any:
		return goList(name, x)
	case []string:
		return evaluator.Strings(x...), nil
	case []float64:
		return goList(name, x)
	case []int:
		return goList(name, x)
	case []bool:
		return goList(name, x)
	}
	return evaluator.Value{}, unsupported(name, raw)
}

// goList converts the items of a list; nil items are dropped.
func goList[T any](name string, items []T) (evaluator.Value, *Error) {
	out := make([]evaluator.Value, 0, len(items))
	for _, item := range items {
		v, err := goValue(name, item, true)
		if err != nil {
			return evaluator.Value{}, err
		}
		if v.Kind() != evaluator.Null {
			out = append(out, v)
		}
	}
	return evaluator.List(out...), nil
}

func goNumber(name string, f float64) (evaluator.Value, *Error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return evaluator.Value{}, invalidAttribute(name, "number is not finite")
	}
	return evaluator.Number(f), nil
}

func unsupported(name string, raw any) *Error {
	return invalidAttribute(name, "unsupported value of Go type "+reflect.TypeOf(raw).String())
}
