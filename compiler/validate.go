package compiler

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
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

var printer = message.NewPrinter(language.English)

// leaf is one failed keyword, with the instance it concerns.
type leaf struct {
	instance []string // path of the value in the document
	keyword  []string // the failed keyword's location in the schema document
	kind     jsonschema.ErrorKind
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
		return []*Error{{File: d.file, Line: d.root.line, Column: d.root.col, Message: err.Error()}}
	}
	var out []*Error
	for _, l := range collectLeaves(ve, nil) {
		out = append(out, v.explain(d, l)...)
	}
	return out
}

func collectLeaves(ve *jsonschema.ValidationError, out []leaf) []leaf {
	if _, ok := ve.ErrorKind.(*kind.PropertyNames); ok || len(ve.Causes) == 0 {
		return append(out, newLeaf(ve))
	}
	if _, ok := ve.ErrorKind.(*kind.AnyOf); ok {
		// anyOf [{required: [a]}, {required: [b]}]: "needs a or b".
		var names []string
		for _, c := range ve.Causes {
			r, ok := c.ErrorKind.(*kind.Required)
			if !ok || len(c.Causes) != 0 || !slices.Equal(c.InstanceLocation, ve.InstanceLocation) {
				names = nil
				break
			}
			names = append(names, r.Missing...)
		}
		if names != nil {
			l := newLeaf(ve)
			l.either = names
			return append(out, l)
		}
	}
	for _, c := range ve.Causes {
		out = collectLeaves(c, out)
	}
	return out
}

func newLeaf(ve *jsonschema.ValidationError) leaf {
	frag := ve.SchemaURL
	if i := strings.IndexByte(frag, '#'); i >= 0 {
		frag = frag[i+1:]
	}
	kw := pointerTokens(frag)
	kw = append(kw[:len(kw):len(kw)], ve.ErrorKind.KeywordPath()...)
	return leaf{instance: ve.InstanceLocation, keyword: kw, kind: ve.ErrorKind}
}

func pointerTokens(ptr string) []string {
	ptr = strings.TrimPrefix(ptr, "/")
	if ptr == "" {
		return nil
	}
	toks := strings.Split(ptr, "/")
	for i, t := range toks {
		if u, err := url.PathUnescape(t); err == nil {
			t = u
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// schemaAt returns the schema object at the given fragment tokens, or nil.
func (v *validator) schemaAt(toks []string) map[string]any {
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
	m, _ := cur.(map[string]any)
	return m
}

// conditionBranches are the $defs a condition dispatches to, by the field that selects
// them; an unknown field in one of them is matched against every condition field.
var conditionBranches = map[string]string{
	"allCondition": "all", "anyCondition": "any", "notCondition": "not",
	"segmentCondition": "segment", "percentageCondition": "percentage", "clause": "attribute",
}

func (v *validator) explain(d document, l leaf) []*Error {
	at := func(n *node, steps []pathStep, msg string) *Error {
		return &Error{File: d.file, Line: n.line, Column: n.col, Path: formatPath(steps), Message: msg}
	}
	val, key, steps := lookupPath(d.root, l.instance)
	n := len(l.keyword)
	// The schema object holding the failed keyword.
	holder := v.schemaAt(l.keyword[:max(n-len(l.kind.KeywordPath()), 0)])
	op := clauseOp(d.root, l)
	// Errors about a field are reported at its key, on the mapping's path.
	parent := steps
	if len(parent) > 0 {
		parent = parent[:len(parent)-1]
	}
	keyOr := func(n *node) *node {
		if key != nil {
			return key
		}
		return n
	}

	if l.either != nil {
		names := strings.Join(quoteAll(l.either), " or ")
		if op != "" {
			return []*Error{at(val, steps, fmt.Sprintf("op %q needs %s", op, names))}
		}
		return []*Error{at(val, steps, "needs "+names)}
	}

	var msg string
	switch k := l.kind.(type) {
	case *kind.FalseSchema:
		name := ""
		if n >= 2 && l.keyword[n-2] == "properties" {
			name = l.keyword[n-1]
		}
		switch {
		case name == "":
			msg = "not allowed here"
		case n >= 4 && l.keyword[n-4] == "dependentSchemas":
			return []*Error{at(keyOr(val), parent, fmt.Sprintf("%q cannot be combined with %q", name, l.keyword[n-3]))}
		case op != "":
			return []*Error{at(keyOr(val), parent, fmt.Sprintf("op %q does not take %q", op, name))}
		default:
			return []*Error{at(keyOr(val), parent, fmt.Sprintf("%q is not allowed here", name))}
		}

	case *kind.AdditionalProperties:
		props, _ := holder["properties"].(map[string]any)
		candidates := keysOf(props)
		branch := ""
		var conditionFields map[string]any
		if n >= 2 && conditionBranches[l.keyword[n-2]] != "" {
			branch = conditionBranches[l.keyword[n-2]]
			conditionFields, _ = v.schemaAt([]string{"$defs", "condition"})["properties"].(map[string]any)
			candidates = keysOf(conditionFields)
		}
		var out []*Error
		for _, name := range k.Properties {
			_, kn := val.get(name)
			if kn == nil {
				kn = val
			}
			if _, ok := conditionFields[name]; ok {
				out = append(out, at(kn, steps, fmt.Sprintf("a condition has one form: %q cannot be combined with %q", name, branch)))
				continue
			}
			msg := fmt.Sprintf("unknown field %q", name)
			if s := suggest(name, candidates); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			out = append(out, at(kn, steps, msg))
		}
		return out

	case *kind.Required:
		names := strings.Join(quoteAll(k.Missing), ", ")
		switch {
		case op != "":
			return []*Error{at(val, steps, fmt.Sprintf("op %q needs %s", op, names))}
		case len(k.Missing) == 1:
			return []*Error{at(val, steps, "missing required field "+names)}
		}
		return []*Error{at(val, steps, "missing required fields "+names)}

	case *kind.PropertyNames:
		_, kn := val.get(k.Property)
		if kn == nil {
			kn = val
		}
		// The error's schema is the propertyNames schema, a $ref to a name definition.
		reason := "not a valid name"
		if ref, ok := holder["$ref"].(string); ok {
			if m, ok := v.schemaAt(pointerTokens(strings.TrimPrefix(ref, "#")))["patternErrorMessage"].(string); ok {
				reason = m
			}
		}
		return []*Error{at(kn, steps, fmt.Sprintf("invalid name %q: %s", k.Property, reason))}

	case *kind.UniqueItems:
		j := k.Duplicates[1]
		if val.kind == sequenceNode && j < len(val.items) {
			return []*Error{at(val.items[j], append(steps, pathStep{index: j}), fmt.Sprintf("%s is listed twice (also item %d)", describe(val.items[j]), k.Duplicates[0]))}
		}
		msg = l.kind.LocalizedString(printer)

	case *kind.Type:
		if len(l.instance) == 0 {
			return []*Error{at(val, steps, "a document must be a mapping with a kind (Project, Segment or Flag), not "+describe(val))}
		}
		msg = fmt.Sprintf("expected %s, but got %s", strings.Join(k.Want, " or "), k.Got)

	case *kind.Pattern:
		msg = fmt.Sprintf("invalid value %q: does not match %s", k.Got, k.Want)
		if m, ok := holder["patternErrorMessage"].(string); ok {
			msg = fmt.Sprintf("invalid value %q: %s", k.Got, m)
		}

	case *kind.Enum:
		alts := anyStrings(k.Want)
		s, isString := k.Got.(string)
		switch {
		case !isString:
			msg = "must be one of " + strings.Join(quoteAll(alts), ", ")
		case suggest(s, alts) != "":
			msg = fmt.Sprintf("unknown value %q (did you mean %q?)", s, suggest(s, alts))
		default:
			msg = fmt.Sprintf("unknown value %q: must be one of %s", s, strings.Join(quoteAll(alts), ", "))
		}

	case *kind.Minimum:
		msg = fmt.Sprintf("must be at least %s, not %s", ratText(k.Want), ratText(k.Got))
	case *kind.Maximum:
		msg = fmt.Sprintf("must be at most %s, not %s", ratText(k.Want), ratText(k.Got))
	case *kind.MinItems:
		msg = fmt.Sprintf("needs at least %d %s", k.Want, plural(k.Want, "item", "items"))
	case *kind.MinProperties:
		msg = fmt.Sprintf("needs at least %d %s", k.Want, plural(k.Want, "entry", "entries"))
	case *kind.MinLength:
		msg = "must not be empty"
		if k.Want > 1 {
			msg = fmt.Sprintf("must be at least %d characters long", k.Want)
		}
	case *kind.MaxLength:
		msg = fmt.Sprintf("must be at most %d characters long, not %d", k.Want, k.Got)
	default:
		msg = l.kind.LocalizedString(printer)
	}
	if m, ok := holder["errorMessage"].(string); ok {
		msg = m
	}
	if op != "" {
		msg = fmt.Sprintf("op %q: %s", op, msg)
	}
	return []*Error{at(val, steps, msg)}
}

func ratText(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	f, _ := r.Float64()
	return formatNumber(f)
}

// clauseOp returns the operator of the clause when the error comes from the clause's
// per-operator rules, so the message can name it.
func clauseOp(root *node, l leaf) string {
	k := l.keyword
	switch {
	case len(k) >= 3 && k[0] == "$defs" && k[1] == "clause" && (k[2] == "then" || k[2] == "else"):
	case len(k) >= 2 && k[0] == "$defs" && (k[1] == "semver" || k[1] == "timeOrRelative"):
		// value shapes used only by clause operators
	default:
		return ""
	}
	path := l.instance
	for range 3 {
		n, _, _ := lookupPath(root, path)
		if op, _ := n.get("op"); op != nil && n.kind == mappingNode {
			s, _ := op.value.(string)
			return s
		}
		if len(path) == 0 {
			break
		}
		path = path[:len(path)-1]
	}
	return ""
}

func describe(n *node) string {
	switch n.kind {
	case mappingNode:
		return "a mapping"
	case sequenceNode:
		return "a list"
	}
	if s, ok := n.value.(string); ok {
		return strconv.Quote(s)
	}
	return n.text
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
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(1, min(len(s), len(best))/3) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
