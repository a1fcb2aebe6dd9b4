package ofrep

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/openfeature/ofconv"
)

// requestError is a request the Handler refuses with 400: Code is PARSE_ERROR or
// INVALID_CONTEXT.
type requestError struct {
	Code    evaluator.ErrorCode
	Details string
}

// parseRequest reads an OFREP request body, {"context":{...}}, into ctx. A body without
// "context", or with "context": null, evaluates with an empty context.
func parseRequest(body []byte, ctx *evaluator.Context) *requestError {
	ctx.Reset()
	if len(bytes.TrimSpace(body)) == 0 {
		return &requestError{evaluator.ErrParse, `empty request body: send {"context":{...}}`}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return &requestError{evaluator.ErrParse, `request body must be a JSON object: {"context":{...}}`}
		}
		return &requestError{evaluator.ErrParse, "request body is not valid JSON: " + jsonErrorText(err)}
	}
	raw, ok := top["context"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var attrs map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&attrs); err != nil {
		return &requestError{evaluator.ErrInvalidContext, `"context" must be a JSON object of attributes`}
	}
	if err := ofconv.Fill(ctx, attrs); err != nil {
		return &requestError{evaluator.ErrInvalidContext, err.Error()}
	}
	return nil
}

func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Error() + " (at byte " + strconv.FormatInt(syn.Offset, 10) + ")"
	}
	return err.Error()
}

// appendCanonicalContext appends an encoding of ctx that depends only on its attributes,
// not on the order they were given in: the ETag of a bulk evaluation includes it.
func appendCanonicalContext(dst []byte, ctx *evaluator.Context, names []string) ([]byte, []string) {
	names = append(names[:0], ctx.Names()...)
	slices.Sort(names)
	for _, name := range names {
		v := ctx.Get(name)
		if v.Kind() == evaluator.Null {
			continue
		}
		dst = strconv.AppendInt(dst, int64(len(name)), 10)
		dst = append(dst, ':')
		dst = append(dst, name...)
		dst = appendCanonicalValue(dst, v)
	}
	return dst, names
}

func appendCanonicalValue(dst []byte, v evaluator.Value) []byte {
	switch v.Kind() {
	case evaluator.StringKind:
		dst = append(dst, 's')
		dst = strconv.AppendInt(dst, int64(len(v.Str())), 10)
		dst = append(dst, ':')
		return append(dst, v.Str()...)
	case evaluator.NumberKind:
		dst = append(dst, 'n')
		return strconv.AppendUint(dst, math.Float64bits(v.Num()), 16)
	case evaluator.BoolKind:
		if v.Truth() {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case evaluator.ListKind:
		dst = append(dst, 'l')
		dst = strconv.AppendInt(dst, int64(len(v.Items())), 10)
		dst = append(dst, ':')
		for _, item := range v.Items() {
			dst = appendCanonicalValue(dst, item)
		}
		return dst
	}
	return append(dst, '0')
}
