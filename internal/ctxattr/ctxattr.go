// Package ctxattr reads evaluation-context attributes as the command line and simulation
// files write them: a JSON object ({"userId":"u1","age":42}, read by protocol.Parser as
// every runtime reads contexts) or key=value pairs, and sets them on an
// evaluator.Context. A pair's JSON value (key:=JSON) is read with encoding/json: the CLI
// is native code.
package ctxattr

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
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

// ParseJSON reads a JSON object of attributes with protocol.Parser, the one context
// parser of every runtime, so a context means on the command line what it means in an
// OFREP request: strings, numbers, booleans or lists of those; an attribute whose value is
// null is left out (so it does not unset an attribute applied before it); nested objects are flattened with dots ({"user":{"plan":"pro"}} sets user.plan);
// a targetingKey is also set as userId when the object has no userId; an attribute given
// twice, or the context over the evaluator's limits, is refused. The attributes come
// sorted by name.
func ParseJSON(data []byte) ([]Attr, error) {
	var p protocol.Parser
	ctx := evaluator.NewContext()
	if err := p.ParseContext(data, ctx); err != nil {
		return nil, errors.New(`want a JSON object of attributes, as in {"userId":"u1"}: ` + err.Details)
	}
	out := make([]Attr, 0, ctx.Len())
	for name, v := range ctx.All() {
		// The Parser's strings and lists share its memory and the input's: copy them.
		out = append(out, Attr{Name: strings.Clone(name), Value: detach(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// detach returns v with strings and list items of its own.
func detach(v evaluator.Value) evaluator.Value {
	switch v.Kind() {
	case evaluator.StringKind:
		return evaluator.String(strings.Clone(v.Str()))
	case evaluator.ListKind:
		items := make([]evaluator.Value, len(v.Items()))
		for i, x := range v.Items() {
			items[i] = detach(x)
		}
		return evaluator.List(items...)
	}
	return v
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
