package snapshot

var opNames = [...]string{
	OpIn:         "in",
	OpStartsWith: "startsWith",
	OpEndsWith:   "endsWith",
	OpContains:   "contains",
	OpMatches:    "matches",
	OpLt:         "lt",
	OpLte:        "lte",
	OpGt:         "gt",
	OpGte:        "gte",
	OpSemverEq:   "semverEq",
	OpSemverLt:   "semverLt",
	OpSemverLte:  "semverLte",
	OpSemverGt:   "semverGt",
	OpSemverGte:  "semverGte",
	OpBefore:     "before",
	OpAfter:      "after",
	OpPresent:    "present",
}

// String returns the operator's name in the flag language. Negation is not part of the
// operator: see Clause.OpName.
func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// OpName returns the operator as written in the flag language, negation included:
// equals, notEquals, in, notIn, present, absent, startsWith, ...
func (cl *Clause) OpName() string {
	switch {
	case cl.Op == OpIn && len(cl.Values) == 1 && cl.Negate:
		return "notEquals"
	case cl.Op == OpIn && len(cl.Values) == 1:
		return "equals"
	case cl.Op == OpIn && cl.Negate:
		return "notIn"
	case cl.Op == OpPresent && cl.Negate:
		return "absent"
	case cl.Negate:
		return "not " + cl.Op.String()
	}
	return cl.Op.String()
}
