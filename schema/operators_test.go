package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// The schema states the clause operators of snapshot.Operators: these tests fail when the
// two drift apart (an operator added to one only, or taking other values in one).

// conditionDef returns the schema's $defs/condition.
func conditionDef(t *testing.T) map[string]any {
	t.Helper()
	var doc struct {
		Defs map[string]map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Defs["condition"]
	if c == nil {
		t.Fatal("no $defs/condition")
	}
	return c
}

func operatorNames(keep func(snapshot.Operator) bool) []string {
	var names []string
	for _, o := range snapshot.Operators {
		if keep(o) {
			names = append(names, o.Name)
		}
	}
	return names
}

func TestOperatorNamesMatchTable(t *testing.T) {
	all := operatorNames(func(snapshot.Operator) bool { return true })
	props := conditionDef(t)["properties"].(map[string]any)
	op := props["op"].(map[string]any)
	var enum []string
	for _, v := range op["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	if !slices.Equal(enum, all) {
		t.Errorf("$defs/condition/properties/op/enum is\n%q\nsnapshot.Operators name\n%q", enum, all)
	}

	// The description lists the operators in the table's order, each with its values in
	// parentheses after a group: "equals, notEquals, in, notIn (strings, ...); startsWith, ...".
	desc := op["description"].(string)
	listed := regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(strings.TrimPrefix(desc, "The clause operator:"), "")
	named := strings.FieldsFunc(listed, func(r rune) bool { return strings.ContainsRune(" ,;.", r) })
	if !slices.Equal(named, all) {
		t.Errorf("the op description %q names\n%q\nsnapshot.Operators name\n%q", desc, named, all)
	}

	ignoreCase := operatorNames(func(o snapshot.Operator) bool { return o.IgnoreCase })
	want := "Compare strings case-insensitively (" + strings.Join(ignoreCase, ", ") + ")."
	if got := props["ignoreCase"].(map[string]any)["description"]; got != want {
		t.Errorf("the ignoreCase description is %q, want %q", got, want)
	}

	// Every op the conditional subschemas name is an operator of the table.
	known := map[string]bool{}
	for _, n := range all {
		known[n] = true
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if op, ok := v["op"].(map[string]any); ok && strings.HasSuffix(at, "/properties") {
				var names []any
				if e, ok := op["enum"].([]any); ok {
					names = e
				}
				if c, ok := op["const"]; ok {
					names = append(names, c)
				}
				for _, n := range names {
					if s, _ := n.(string); !known[s] {
						t.Errorf("%s/op names %v, which is not in snapshot.Operators", at, n)
					}
				}
			}
			for k, c := range v {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range v {
				walk(c, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(conditionDef(t), "#/$defs/condition")
}

// sample is a value a clause may compare with, and the operand kinds it suits.
type sample struct {
	value any
	kinds []snapshot.OperandKind
}

var (
	textKinds = []snapshot.OperandKind{snapshot.OperandScalar, snapshot.OperandString, snapshot.OperandPattern}
	samples   = []sample{
		{"abc", textKinds},
		{"12", textKinds},
		{42, []snapshot.OperandKind{snapshot.OperandScalar, snapshot.OperandNumber}},
		{-2.5, []snapshot.OperandKind{snapshot.OperandScalar, snapshot.OperandNumber}},
		{true, []snapshot.OperandKind{snapshot.OperandScalar}},
		{"1.2.3", append(slices.Clone(textKinds), snapshot.OperandSemver)},
		{"v2.0.0-rc.1", append(slices.Clone(textKinds), snapshot.OperandSemver)},
		{"2026-12-01T09:00:00Z", append(slices.Clone(textKinds), snapshot.OperandTime)},
		{"2026-12-01", append(slices.Clone(textKinds), snapshot.OperandTime)},
		{"now-7d", append(slices.Clone(textKinds), snapshot.OperandTime)},
	}
)

// clauseShape is how a test clause writes its values.
type clauseShape struct {
	value      *sample   // value: V
	values     []*sample // values: [...]
	ignoreCase bool      // ignoreCase: true
}

func (s clauseShape) String() string {
	var parts []string
	if s.value != nil {
		parts = append(parts, fmt.Sprintf("value %#v", s.value.value))
	}
	if s.values != nil {
		vs := make([]string, len(s.values))
		for i, v := range s.values {
			vs[i] = fmt.Sprintf("%#v", v.value)
		}
		parts = append(parts, "values ["+strings.Join(vs, ", ")+"]")
	}
	if s.ignoreCase {
		parts = append(parts, "ignoreCase")
	}
	if parts == nil {
		return "no value"
	}
	return strings.Join(parts, ", ")
}

// accepted reports whether the table allows a clause of operator o in the shape s.
func accepted(o snapshot.Operator, s clauseShape) bool {
	hasValue, hasValues := s.value != nil, s.values != nil
	switch o.Arity {
	case snapshot.ArityNone:
		if hasValue || hasValues {
			return false
		}
	case snapshot.ArityOne:
		if !hasValue || hasValues {
			return false
		}
	case snapshot.ArityMany:
		if hasValue || !hasValues {
			return false
		}
	case snapshot.ArityOneOrMany:
		if hasValue == hasValues {
			return false
		}
	}
	if s.ignoreCase && !o.IgnoreCase {
		return false
	}
	vs := s.values
	if hasValue {
		vs = []*sample{s.value}
	}
	for _, v := range vs {
		if !slices.Contains(v.kinds, o.Operand) {
			return false
		}
	}
	return true
}

// shapes returns the clause shapes the test validates: no value, each sample as value and
// as a one-element list, pairs of samples, a value with a list, each with and without
// ignoreCase.
func shapes() []clauseShape {
	var out []clauseShape
	add := func(s clauseShape) {
		out = append(out, s)
		s.ignoreCase = true
		out = append(out, s)
	}
	add(clauseShape{})
	for i := range samples {
		v := &samples[i]
		add(clauseShape{value: v})
		add(clauseShape{values: []*sample{v}})
		add(clauseShape{value: v, values: []*sample{v}})
		for j := range samples {
			if j != i {
				add(clauseShape{values: []*sample{v, &samples[j]}})
			}
		}
	}
	return out
}

// Every operator of the table, in every clause shape: the schema accepts the clause exactly
// when the table's arity, operand kind and ignoreCase allow it.
func TestOperatorClausesFollowTable(t *testing.T) {
	s, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range snapshot.Operators {
		for _, shape := range shapes() {
			when := map[string]any{"attribute": "a", "op": o.Name}
			if shape.value != nil {
				when["value"] = shape.value.value
			}
			if shape.values != nil {
				vs := make([]any, len(shape.values))
				for i, v := range shape.values {
					vs[i] = v.value
				}
				when["values"] = vs
			}
			if shape.ignoreCase {
				when["ignoreCase"] = true
			}
			doc, err := json.Marshal(map[string]any{"kind": "Segment", "key": "s", "when": when})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Validate(decode(t, string(doc)))
			if want := accepted(o, shape); want != (err == nil) {
				t.Errorf("%s with %s: the table %s it, the schema: %v", o.Name, shape, map[bool]string{true: "allows", false: "refuses"}[want], err)
			}
		}
	}
}
