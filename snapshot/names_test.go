package snapshot

import "testing"

// valuesFor returns n string literals.
func valuesFor(n int) []Literal {
	vs := make([]Literal, n)
	for i := range vs {
		vs[i] = Literal{Kind: LitString, Str: string(rune('a' + i))}
	}
	return vs
}

// Every operator of the table is found by its name, and a clause compiled from it is named
// by it again, for every number of values its arity holds (in with one value is equals).
func TestOperatorsRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range Operators {
		if seen[o.Name] {
			t.Errorf("%s: listed twice", o.Name)
		}
		seen[o.Name] = true
		if got, ok := LookupOperator(o.Name); !ok || got != o {
			t.Errorf("LookupOperator(%q) = %+v, %v; want %+v", o.Name, got, ok, o)
		}
		counts := map[Arity][]int{ArityNone: {0}, ArityOne: {1}, ArityMany: {2, 3}, ArityOneOrMany: {1, 2}}[o.Arity]
		if counts == nil {
			t.Errorf("%s: arity %d", o.Name, o.Arity)
		}
		for _, n := range counts {
			cl := Clause{Op: o.Op, Negate: o.Negate, Values: valuesFor(n)}
			if got := cl.OpName(); got != o.Name {
				t.Errorf("%s with %d values: OpName %q", o.Name, n, got)
			}
		}
		if (o.Arity == ArityNone) != (o.Operand == OperandNone) {
			t.Errorf("%s: arity %d with operand kind %d", o.Name, o.Arity, o.Operand)
		}
	}
	for op := OpIn; op < opEnd; op++ {
		if name := op.String(); !seen[name] {
			t.Errorf("Op %d has no operator in the table (String %q)", op, name)
		}
	}
	if _, ok := LookupOperator("equal"); ok {
		t.Error(`LookupOperator("equal") found an operator`)
	}
}

func TestOpName(t *testing.T) {
	tests := []struct {
		op     Op
		negate bool
		values int
		want   string
	}{
		{OpIn, false, 1, "equals"},
		{OpIn, true, 1, "notEquals"},
		{OpIn, false, 2, "in"},
		{OpIn, true, 2, "notIn"},
		{OpIn, false, 0, "in"},
		{OpIn, true, 0, "notIn"},
		{OpStartsWith, false, 1, "startsWith"},
		{OpStartsWith, false, 3, "startsWith"},
		{OpStartsWith, true, 1, "not startsWith"},
		{OpMatches, true, 2, "not matches"},
		{OpLt, false, 1, "lt"},
		{OpLt, true, 1, "not lt"},
		{OpSemverGte, false, 1, "semverGte"},
		{OpSemverEq, false, 2, "semverEq"},
		{OpBefore, false, 0, "before"},
		{OpAfter, true, 1, "not after"},
		{OpPresent, false, 0, "present"},
		{OpPresent, true, 0, "absent"},
		{OpPresent, false, 1, "present"},
		{0, false, 1, "unknown"},
		{0, true, 1, "not unknown"},
		{opEnd, false, 1, "unknown"},
	}
	for _, tc := range tests {
		cl := Clause{Op: tc.op, Negate: tc.negate, Values: valuesFor(tc.values)}
		if got := cl.OpName(); got != tc.want {
			t.Errorf("Op %d negate %v with %d values: OpName %q, want %q", tc.op, tc.negate, tc.values, got, tc.want)
		}
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{OpIn, "in"}, {OpStartsWith, "startsWith"}, {OpEndsWith, "endsWith"}, {OpContains, "contains"},
		{OpMatches, "matches"}, {OpLt, "lt"}, {OpLte, "lte"}, {OpGt, "gt"}, {OpGte, "gte"},
		{OpSemverEq, "semverEq"}, {OpSemverLt, "semverLt"}, {OpSemverLte, "semverLte"},
		{OpSemverGt, "semverGt"}, {OpSemverGte, "semverGte"}, {OpBefore, "before"}, {OpAfter, "after"},
		{OpPresent, "present"}, {0, "unknown"}, {opEnd, "unknown"}, {255, "unknown"},
	}
	for _, tc := range tests {
		if got := tc.op.String(); got != tc.want {
			t.Errorf("Op %d: String %q, want %q", tc.op, got, tc.want)
		}
	}
}

// Op.Operand is the operand kind of every operator of the table compiling to the Op, so
// the operators sharing an Op must agree on it; and the check of decoded clauses refuses
// a boolean for every kind but OperandScalar (strings, numbers and booleans) and
// OperandNone (no value), as the table says.
func TestOpOperand(t *testing.T) {
	for _, o := range Operators {
		if got := o.Op.Operand(); got != o.Operand {
			t.Errorf("%s: Op.Operand() = %d, the table says %d", o.Name, got, o.Operand)
		}
		cl := Clause{Op: o.Op, Values: []Literal{{Kind: LitBool}}}
		refused := cl.check() != ""
		if want := o.Operand != OperandScalar; refused != want {
			t.Errorf("%s (operand kind %d) with a boolean: refused %v, want %v", o.Name, o.Operand, refused, want)
		}
	}
	if got := Op(0).Operand(); got != OperandNone {
		t.Errorf("Op(0).Operand() = %d, want OperandNone", got)
	}
}
