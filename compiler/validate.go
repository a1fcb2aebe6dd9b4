package compiler

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/schema"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// validator applies the JSON Schema to documents and turns its errors into positioned,
// readable errors.
type validator struct {
	schema *jsonschema.Schema
	raw    map[string]any // the schema document, for property lists and error messages
}

func newValidator() (*validator, error) {
	s, err := schema.Compile()
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(schema.JSON, &raw); err != nil {
		return nil, err
	}
	return &validator{schema: s, raw: raw}, nil
}

// leaf is one failed keyword (an error of the validator without causes), with the
// instance it concerns.
type leaf struct {
	instance []string // path of the value in the document
	location []string // where the failed keyword, or false schema, is in the schema document
	keyword  string   // the failed keyword: the last step of location, or "false" for a false schema
	message  string   // the validator's own message, for keywords explained by nothing better
	name     bool     // the value is a property name (a propertyNames failure): the last step of instance
	either   []string // for an anyOf of required properties: the alternatives
}

// validate returns the document's schema errors, or nil.
func (v *validator) validate(d document) []*Error {
	err := v.schema.Validate(d.root.toJSON())
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []*Error{{File: d.file, Line: d.root.line(), Column: d.root.col(), Message: err.Error()}}
	}
	var out []*Error
	for _, l := range v.collectLeaves(d.root, ve, nil) {
		out = append(out, v.explain(d, l)...)
	}
	return out
}

// collectLeaves gathers the failed keywords of a validation error tree. The inner nodes
// only say which subschema ($ref, if/then/else, allOf) a failure was found through.
func (v *validator) collectLeaves(root node, ve *jsonschema.ValidationError, out []leaf) []leaf {
	if len(ve.Causes) == 0 {
		return append(out, v.newLeaf(ve))
	}
	if l := v.newLeaf(ve); l.keyword == "anyOf" {
		// anyOf [{required: [a]}, {required: [b]}]: "needs a or b".
		val, _, _ := lookupPath(root, l.instance)
		var names []string
		for _, c := range ve.Causes {
			cl := v.newLeaf(c)
			if len(c.Causes) != 0 || cl.keyword != "required" || c.InstanceLocation != ve.InstanceLocation {
				names = nil
				break
			}
			names = append(names, missingFields(v.schemaAt(cl.location[:len(cl.location)-1]), val)...)
		}
		if names != nil {
			l.either = names
			return append(out, l)
		}
	}
	for _, c := range ve.Causes {
		out = v.collectLeaves(root, c, out)
	}
	return out
}

func (v *validator) newLeaf(ve *jsonschema.ValidationError) leaf {
	frag := ve.AbsoluteKeywordLocation
	if i := strings.IndexByte(frag, '#'); i >= 0 {
		frag = frag[i+1:]
	}
	l := leaf{instance: pointerTokens(ve.InstanceLocation), location: pointerTokens(frag), message: ve.Message}
	if n := len(l.location); n > 0 {
		l.keyword = l.location[n-1]
	}
	// A false subschema (properties: {x: false}) fails at its own location, with no
	// keyword after it. additionalProperties: false and additionalItems: false are the
	// exception: the validator applies them as keywords of the holding schema.
	if b, ok := v.valueAt(l.location).(bool); ok && !b && l.keyword != "additionalProperties" && l.keyword != "additionalItems" {
		l.keyword = "false"
	}
	// The dynamic path goes through propertyNames (and not through a property of that
	// name) when the value validated is a property name.
	steps := strings.Split(ve.KeywordLocation, "/")
	for i, s := range steps {
		if s == "propertyNames" && (i == 0 || steps[i-1] != "properties") {
			l.name = len(l.instance) > 0
		}
	}
	return l
}

// pointerTokens splits a JSON pointer (as the validator writes them: tokens escaped with
// ~0, ~1 and then URL path escaping) into its unescaped tokens.
func pointerTokens(ptr string) []string {
	if ptr == "" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, t := range toks {
		if u, err := url.PathUnescape(t); err == nil {
			t = u
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// valueAt returns the value at the given location in the schema document, or nil.
func (v *validator) valueAt(toks []string) any {
	var cur any = v.raw
	for _, t := range toks {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// schemaAt returns the schema object at the given location, or nil.
func (v *validator) schemaAt(toks []string) map[string]any {
	m, _ := v.valueAt(toks).(map[string]any)
	return m
}

// missingFields returns the fields of the schema's required list that the mapping lacks,
// in the schema's order.
func missingFields(holder map[string]any, val node) []string {
	var out []string
	for _, r := range anyStrings(asSlice(holder["required"])) {
		if x, _ := val.get(r); !x.ok() {
			out = append(out, r)
		}
	}
	return out
}

// extraFields returns the mapping's fields that the schema's properties and
// patternProperties do not name, in the order written.
func extraFields(holder map[string]any, val node) []string {
	props, _ := holder["properties"].(map[string]any)
	patterns, _ := holder["patternProperties"].(map[string]any)
	var out []string
	if val.kind() != mappingNode {
		return nil
	}
next:
	for k := range val.entries() {
		if _, ok := props[k.text()]; ok {
			continue
		}
		for p := range patterns {
			if ok, err := regexp.MatchString(p, k.text()); err == nil && ok {
				continue next
			}
		}
		out = append(out, k.text())
	}
	return out
}

// firstDuplicate returns the indexes (j < i) of the first item of a list equal to an
// earlier one, as uniqueItems finds them, or ok false.
func firstDuplicate(val node) (j, i int, ok bool) {
	for i := 1; i < val.len(); i++ {
		for j := range i {
			if sameValue(val.elem(j), val.elem(i)) {
				return j, i, true
			}
		}
	}
	return 0, 0, false
}

// sameValue reports whether two nodes hold equal JSON values.
func sameValue(a, b node) bool {
	if a.kind() != b.kind() || a.len() != b.len() {
		return false
	}
	switch a.kind() {
	case sequenceNode:
		for i := range a.len() {
			if !sameValue(a.elem(i), b.elem(i)) {
				return false
			}
		}
		return true
	case mappingNode:
		for k, v := range a.entries() {
			if bv, _ := b.get(k.text()); !bv.ok() || !sameValue(v, bv) {
				return false
			}
		}
		return true
	}
	return a.value() == b.value()
}

// jsonType names the JSON type of a node as JSON Schema does.
func jsonType(n node) string {
	switch n.kind() {
	case mappingNode:
		return "object"
	case sequenceNode:
		return "array"
	}
	switch n.typ() {
	case nullScalar:
		return "null"
	case boolScalar:
		return "boolean"
	case numberScalar:
		return "number"
	}
	return "string"
}

// conditionForms are the fields that give a condition its form. Errors about a condition
// with fields of several forms take the first of them, in this order, as its form.
var conditionForms = []string{"attribute", "segment", "all", "any", "not", "percentage"}

// conditionFormOf is the form each condition field belongs to.
var conditionFormOf = map[string]string{
	"attribute": "attribute", "op": "attribute", "value": "attribute", "values": "attribute", "ignoreCase": "attribute",
	"segment": "segment", "all": "all", "any": "any", "not": "not", "percentage": "percentage", "bucketBy": "percentage",
}

// conditionForm returns the form of a condition mapping: its first form field, or "".
func conditionForm(cond node) string {
	for _, f := range conditionForms {
		if v, _ := cond.get(f); v.ok() {
			return f
		}
	}
	return ""
}

// formConflict reports whether a failed keyword at loc is one of the schema's rules that
// keep a condition to one form: a field of another form set to false (under the
// condition's dependentSchemas, or the clause's properties), or a clause or percentage
// field that requires its form's field (under the else of a condition without attribute).
func formConflict(loc []string) bool {
	if len(loc) < 4 || loc[0] != "$defs" || loc[1] != "condition" {
		return false
	}
	switch {
	case loc[2] == "dependentSchemas" && len(loc) == 6 && loc[4] == "properties":
		return true
	case loc[2] == "then" && len(loc) == 5 && loc[3] == "properties":
		return true
	case loc[2] == "else" && len(loc) == 6 && loc[3] == "dependentSchemas" && loc[5] == "required":
		return true
	}
	return false
}

func (v *validator) explain(d document, l leaf) []*Error {
	at := func(n node, steps []pathStep, msg string) *Error {
		return &Error{File: d.file, Line: n.line(), Column: n.col(), Path: formatPath(steps), Message: msg}
	}
	loc := l.location
	n := len(loc)
	// The schema object holding the failed keyword.
	holder := v.schemaAt(loc[:max(n-1, 0)])
	if l.name {
		// A property name failed the propertyNames schema: report it at the key, on the
		// mapping's path.
		name := l.instance[len(l.instance)-1]
		mapping, _, steps := lookupPath(d.root, l.instance[:len(l.instance)-1])
		kn := mapping
		if _, k := mapping.get(name); k.ok() {
			kn = k
		}
		nameNode := stringNode(name)
		return []*Error{at(kn, steps, fmt.Sprintf("invalid name %q: %s", ex(name), v.reason(l, holder, nameNode)))}
	}

	val, key, steps := lookupPath(d.root, l.instance)
	op := clauseOp(d.root, l)
	// Errors about a field are reported at its key, on the mapping's path.
	parent := steps
	if len(parent) > 0 {
		parent = parent[:len(parent)-1]
	}
	keyOr := func(n node) node {
		if key.ok() {
			return key
		}
		return n
	}

	if formConflict(loc) {
		// The field that conflicts, and the condition it is in.
		name, cond, condSteps := "", val, steps
		if l.keyword == "required" {
			name = loc[n-2]
		} else {
			name = l.instance[len(l.instance)-1]
			cond, _, condSteps = lookupPath(d.root, l.instance[:len(l.instance)-1])
		}
		form := conditionForm(cond)
		_, kn := cond.get(name)
		switch {
		case form == "" || !kn.ok():
			// No form at all: the fields that would make one are missing.
		case conditionFormOf[name] == form:
			return nil // reported against the other form's field
		default:
			return []*Error{at(kn, condSteps, fmt.Sprintf("a condition has one form: %q cannot be combined with %q", name, form))}
		}
	}

	if l.either != nil {
		names := strings.Join(quoteAll(l.either), " or ")
		if op != "" {
			return []*Error{at(val, steps, fmt.Sprintf("op %q needs %s", op, names))}
		}
		return []*Error{at(val, steps, "needs "+names)}
	}

	var msg string
	switch l.keyword {
	case "false":
		name := ""
		if n >= 2 && loc[n-2] == "properties" {
			name = loc[n-1]
		}
		switch {
		case name == "":
			msg = "not allowed here"
		case n >= 4 && loc[n-4] == "dependentSchemas":
			return []*Error{at(keyOr(val), parent, fmt.Sprintf("%q cannot be combined with %q", name, loc[n-3]))}
		case op != "":
			return []*Error{at(keyOr(val), parent, fmt.Sprintf("op %q does not take %q", op, name))}
		default:
			return []*Error{at(keyOr(val), parent, fmt.Sprintf("%q is not allowed here", name))}
		}

	case "additionalProperties":
		props, _ := holder["properties"].(map[string]any)
		candidates := keysOf(props)
		var out []*Error
		for _, name := range extraFields(holder, val) {
			_, kn := val.get(name)
			if !kn.ok() {
				kn = val
			}
			msg := fmt.Sprintf("unknown field %q", ex(name))
			if s := suggest(name, candidates); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			out = append(out, at(kn, steps, msg))
		}
		if out != nil {
			return out
		}
		msg = l.message

	case "required":
		missing := missingFields(holder, val)
		names := strings.Join(quoteAll(missing), ", ")
		switch {
		case len(missing) == 0:
			msg = l.message
		case op != "":
			return []*Error{at(val, steps, fmt.Sprintf("op %q needs %s", op, names))}
		case len(missing) == 1:
			return []*Error{at(val, steps, "missing required field "+names)}
		default:
			return []*Error{at(val, steps, "missing required fields "+names)}
		}

	case "uniqueItems":
		if j, i, ok := firstDuplicate(val); ok {
			return []*Error{at(val.elem(i), append(steps, pathStep{index: i}), fmt.Sprintf("%s is listed twice (also item %d)", describe(val.elem(i)), j))}
		}
		msg = l.message

	case "type":
		if len(l.instance) == 0 {
			return []*Error{at(val, steps, "a document must be a mapping with a kind (Project, Segment or Flag), not "+describe(val))}
		}
		msg = v.reason(l, holder, val)

	case "pattern":
		msg = fmt.Sprintf("invalid value %q: %s", ex(str(val)), v.reason(l, holder, val))

	default:
		msg = v.reason(l, holder, val)
	}
	if m, ok := holder["errorMessage"].(string); ok {
		msg = m
	}
	if op != "" {
		msg = fmt.Sprintf("op %q: %s", op, msg)
	}
	return []*Error{at(val, steps, msg)}
}

// reason says what is wrong with a value that failed a keyword of holder, from the schema
// and the value itself; the validator's message is the last resort.
func (v *validator) reason(l leaf, holder map[string]any, val node) string {
	switch l.keyword {
	case "type":
		var want []string
		switch t := holder["type"].(type) {
		case string:
			want = []string{t}
		case []any:
			want = anyStrings(t)
		}
		if len(want) > 0 {
			return fmt.Sprintf("expected %s, but got %s", strings.Join(want, " or "), jsonType(val))
		}

	case "pattern":
		if m, ok := holder["patternErrorMessage"].(string); ok {
			return m
		}
		if p, ok := holder["pattern"].(string); ok {
			return "does not match " + p
		}

	case "enum":
		alts := anyStrings(asSlice(holder["enum"]))
		s, isString := val.value().(string)
		switch {
		case !isString:
			return "must be one of " + strings.Join(quoteAll(alts), ", ")
		case suggest(s, alts) != "":
			return fmt.Sprintf("unknown value %q (did you mean %q?)", ex(s), suggest(s, alts))
		default:
			return fmt.Sprintf("unknown value %q: must be one of %s", ex(s), strings.Join(quoteAll(alts), ", "))
		}

	case "const":
		if c, ok := holder["const"].(string); ok {
			return fmt.Sprintf("must be %q", c)
		}

	case "minimum", "maximum":
		want, okW := holder[l.keyword].(float64)
		got, okG := val.value().(float64)
		if okW && okG {
			bound := "at least"
			if l.keyword == "maximum" {
				bound = "at most"
			}
			return fmt.Sprintf("must be %s %s, not %s", bound, formatNumber(want), formatNumber(got))
		}

	case "minItems":
		if want, ok := holder["minItems"].(float64); ok {
			return fmt.Sprintf("needs at least %d %s", int(want), plural(int(want), "item", "items"))
		}

	case "minProperties":
		if want, ok := holder["minProperties"].(float64); ok {
			return fmt.Sprintf("needs at least %d %s", int(want), plural(int(want), "entry", "entries"))
		}

	case "minLength":
		if want, ok := holder["minLength"].(float64); ok && want > 1 {
			return fmt.Sprintf("must be at least %d characters long", int(want))
		}
		return "must not be empty"

	case "maxLength":
		if want, ok := holder["maxLength"].(float64); ok {
			return fmt.Sprintf("must be at most %d characters long, not %d", int(want), utf8.RuneCountInString(str(val)))
		}
	}
	return l.message
}

// clauseOp returns the operator of the clause when the error comes from the clause's
// per-operator rules, so the message can name it.
func clauseOp(root node, l leaf) string {
	k := l.location
	switch {
	case len(k) >= 4 && k[0] == "$defs" && k[1] == "condition" && k[2] == "then" && (k[3] == "then" || k[3] == "else"):
		// the operator rules of a clause (a condition with an attribute)
	case len(k) >= 2 && k[0] == "$defs" && (k[1] == "semver" || k[1] == "timeOrRelative"):
		// value shapes used only by clause operators
	default:
		return ""
	}
	path := l.instance
	for range 3 {
		n, _, _ := lookupPath(root, path)
		if op, _ := n.get("op"); op.ok() && n.kind() == mappingNode {
			return str(op)
		}
		if len(path) == 0 {
			break
		}
		path = path[:len(path)-1]
	}
	return ""
}

func describe(n node) string {
	switch n.kind() {
	case mappingNode:
		return "a mapping"
	case sequenceNode:
		return "a list"
	}
	if s, ok := n.value().(string); ok {
		return excerpt(s)
	}
	if t := n.text(); len(t) <= maxExcerpt && strconv.Quote(t) == `"`+t+`"` {
		return t // a number, a bool, null
	}
	return excerpt(n.text())
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, s := range names {
		out[i] = strconv.Quote(s)
	}
	return out
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func asSlice(v any) []any {
	a, _ := v.([]any)
	return a
}

func anyStrings(a []any) []string {
	var out []string
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// suggest returns the candidate closest to s by edit distance (case-insensitive), when it
// is close enough to be a likely typo, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		if c == s {
			continue
		}
		d := EditDistance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(1, min(len(s), len(best))/3) {
		return ""
	}
	return best
}
