// Package ctxattr reads evaluation-context attributes as the command line and simulation
// files write them: a JSON object ({"userId":"u1","age":42}) or key=value pairs, and sets
// them on an evaluator.Context. The CLI is native code, so it may use encoding/json; the
// evaluator itself stays free of it.
package ctxattr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/edgeflag/edgeflag/evaluator"
)

// Attr is one context attribute. A Null value leaves the attribute unset.
type Attr struct {
	Name  string
	Value evaluator.Value
}

// Apply sets the attributes on ctx, in order (a later one wins).
func Apply(ctx *evaluator.Context, attrs []Attr) {
	for _, a := range attrs {
		ctx.Set(a.Name, a.Value)
	}
}

// ParseJSON reads a JSON object of attributes: strings, numbers, booleans or lists of
// those; null leaves an attribute unset. The attributes come sorted by name.
func ParseJSON(data []byte) ([]Attr, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("want a JSON object of attributes, as in {\"userId\":\"u1\"}: %v", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("want a JSON object of attributes, not null")
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]Attr, 0, len(names))
	for _, name := range names {
		v, err := Value(obj[name])
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %v", name, err)
		}
		out = append(out, Attr{Name: name, Value: v})
	}
	return out, nil
}

// ParsePair reads key=value (the value is a string) or key:=JSON (a number, bool, string
// or list): userId=u1, age:=42, beta:=true, groups:='["a","b"]'.
func ParsePair(pair string) (Attr, error) {
	if i := strings.Index(pair, ":="); i > 0 && !strings.Contains(pair[:i], "=") {
		dec := json.NewDecoder(strings.NewReader(pair[i+2:]))
		dec.UseNumber()
		var raw any
		if err := dec.Decode(&raw); err != nil || dec.More() {
			return Attr{}, fmt.Errorf("the value after := must be JSON (a number, true/false, a string or a list)")
		}
		v, err := Value(raw)
		if err != nil {
			return Attr{}, err
		}
		return Attr{Name: pair[:i], Value: v}, nil
	}
	i := strings.IndexByte(pair, '=')
	if i <= 0 {
		return Attr{}, fmt.Errorf("want key=value (a string) or key:=JSON (a number, bool or list)")
	}
	return Attr{Name: pair[:i], Value: evaluator.String(pair[i+1:])}, nil
}

// Value converts a JSON value decoded with UseNumber to a context value.
func Value(raw any) (evaluator.Value, error) {
	switch v := raw.(type) {
	case nil:
		return evaluator.Value{}, nil
	case string:
		return evaluator.String(v), nil
	case bool:
		return evaluator.Bool(v), nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return evaluator.Value{}, fmt.Errorf("number %s out of range", v)
		}
		return evaluator.Number(f), nil
	case []any:
		items := make([]evaluator.Value, len(v))
		for i, x := range v {
			switch x.(type) {
			case []any:
				return evaluator.Value{}, fmt.Errorf("nested lists are not supported")
			case map[string]any:
				return evaluator.Value{}, fmt.Errorf("objects in lists are not supported")
			}
			item, err := Value(x)
			if err != nil {
				return evaluator.Value{}, err
			}
			items[i] = item
		}
		return evaluator.List(items...), nil
	}
	return evaluator.Value{}, fmt.Errorf("objects are not supported: attributes are strings, numbers, booleans or lists of those")
}
