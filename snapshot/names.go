package snapshot

// Operator is one clause operator of the flag language: its name, the snapshot operator it
// compiles to, and the values it takes. Operators lists them all; the compiler looks
// operators up in it, Clause.OpName names them from it, and the JSON Schema of flag files
// is tested against it.
type Operator struct {
	Name       string      // as written in flag files: equals, notIn, semverGte, ...
	Op         Op          // the snapshot operator
	Negate     bool        // the clause is negated (notEquals, notIn, absent)
	IgnoreCase bool        // ignoreCase may be set: the operator compares strings as text
	Operand    OperandKind // the kind of the values
	Arity      Arity       // how the values are written: value, values, either or none
}

// OperandKind is the kind of value an operator compares with.
type OperandKind uint8

// Operand kinds.
const (
	OperandNone    OperandKind = iota // no value (present, absent)
	OperandScalar                     // strings, numbers or booleans (equals, in)
	OperandString                     // strings (startsWith, contains)
	OperandPattern                    // RE2 regular expressions, strings (matches)
	OperandNumber                     // a number (lt, gte)
	OperandSemver                     // a semantic version string (semverLt)
	OperandTime                       // an RFC 3339 time, a date or a time relative to now (before)
)

// Arity is how a clause writes its operator's values.
type Arity uint8

// Arities.
const (
	ArityNone      Arity = iota // neither value nor values (present, absent)
	ArityOne                    // value (equals, lt, semverEq, before)
	ArityMany                   // values (in, notIn)
	ArityOneOrMany              // value or values (startsWith, matches)
)

// takes reports whether a compiled clause of the arity can hold n values.
func (a Arity) takes(n int) bool {
	switch a {
	case ArityNone:
		return n == 0
	case ArityOne:
		return n == 1
	}
	return n >= 1
}

// Operators are the clause operators of the flag language, in the order the documentation
// and the JSON Schema list them. Where several share a snapshot operator and negation
// (equals and in), the one taking a single value comes first.
var Operators = [...]Operator{
	{"equals", OpIn, false, true, OperandScalar, ArityOne},
	{"notEquals", OpIn, true, true, OperandScalar, ArityOne},
	{"in", OpIn, false, true, OperandScalar, ArityMany},
	{"notIn", OpIn, true, true, OperandScalar, ArityMany},
	{"startsWith", OpStartsWith, false, true, OperandString, ArityOneOrMany},
	{"endsWith", OpEndsWith, false, true, OperandString, ArityOneOrMany},
	{"contains", OpContains, false, true, OperandString, ArityOneOrMany},
	{"matches", OpMatches, false, false, OperandPattern, ArityOneOrMany},
	{"lt", OpLt, false, false, OperandNumber, ArityOne},
	{"lte", OpLte, false, false, OperandNumber, ArityOne},
	{"gt", OpGt, false, false, OperandNumber, ArityOne},
	{"gte", OpGte, false, false, OperandNumber, ArityOne},
	{"semverEq", OpSemverEq, false, false, OperandSemver, ArityOne},
	{"semverLt", OpSemverLt, false, false, OperandSemver, ArityOne},
	{"semverLte", OpSemverLte, false, false, OperandSemver, ArityOne},
	{"semverGt", OpSemverGt, false, false, OperandSemver, ArityOne},
	{"semverGte", OpSemverGte, false, false, OperandSemver, ArityOne},
	{"before", OpBefore, false, false, OperandTime, ArityOne},
	{"after", OpAfter, false, false, OperandTime, ArityOne},
	{"present", OpPresent, false, false, OperandNone, ArityNone},
	{"absent", OpPresent, true, false, OperandNone, ArityNone},
}

// LookupOperator returns the operator named name in the flag language, and false when
// there is none.
func LookupOperator(name string) (Operator, bool) {
	for _, o := range Operators {
		if o.Name == name {
			return o, true
		}
	}
	return Operator{}, false
}

// operatorName returns the name of the operator that compiles to op, negated or not, with
// n values: the first of Operators with op and negate whose arity holds n values, or else
// the last with op and negate; "" when there is none.
func operatorName(op Op, negate bool, n int) string {
	name := ""
	for i := range Operators {
		o := &Operators[i]
		if o.Op != op || o.Negate != negate {
			continue
		}
		if o.Arity.takes(n) {
			return o.Name
		}
		name = o.Name
	}
	return name
}

// String returns the operator's name in the flag language, of its form that takes a list
// where there are two (in, not equals). Negation and the number of values are not part of
// the operator: see Clause.OpName.
func (o Op) String() string {
	if name := operatorName(o, false, 0); name != "" {
		return name
	}
	return "unknown"
}

// Operand returns the kind of values o compares with: that of the operators of the flag
// language that compile to it (OperandNone for an operator it has none of).
func (o Op) Operand() OperandKind {
	for i := range Operators {
		if Operators[i].Op == o {
			return Operators[i].Operand
		}
	}
	return OperandNone
}

// OpName returns the operator as written in the flag language, negation included:
// equals, notEquals, in, notIn, present, absent, startsWith, ... A negated operator the
// language has no name for is "not " and its name.
func (cl *Clause) OpName() string {
	if name := operatorName(cl.Op, cl.Negate, len(cl.Values)); name != "" {
		return name
	}
	if cl.Negate {
		return "not " + cl.Op.String()
	}
	return cl.Op.String()
}
