package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// operandPhrases are the descriptions of the values column of the clause operators in
// docs/flag-language.md, and what each says in the terms of snapshot.Operators.
var operandPhrases = map[string]struct {
	arity   snapshot.Arity
	operand snapshot.OperandKind
}{
	"one value (string, number, bool)": {snapshot.ArityOne, snapshot.OperandScalar},
	"list":                             {snapshot.ArityMany, snapshot.OperandScalar},
	"one or more strings":              {snapshot.ArityOneOrMany, snapshot.OperandString},
	"one or more RE2 patterns":         {snapshot.ArityOneOrMany, snapshot.OperandPattern},
	"one number":                       {snapshot.ArityOne, snapshot.OperandNumber},
	"one semantic version":             {snapshot.ArityOne, snapshot.OperandSemver},
	"one time":                         {snapshot.ArityOne, snapshot.OperandTime},
	"none":                             {snapshot.ArityNone, snapshot.OperandNone},
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// The flag language's documentation lists the operators of snapshot.Operators, in order,
// with the values each takes and those ignoreCase applies to.
func TestDocsListOperators(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "flag-language.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	_, table, ok := strings.Cut(text, "\nClause operators:\n")
	if !ok {
		t.Fatal(`docs/flag-language.md: no "Clause operators:" table`)
	}
	var names []string
	rows := 0
	for _, line := range strings.Split(strings.TrimLeft(table, "\n"), "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 || !strings.Contains(cells[0], "`") {
			continue // the header and its rule
		}
		rows++
		phrase := strings.TrimSpace(cells[1])
		want, known := operandPhrases[phrase]
		if !known {
			t.Errorf("row %q: values %q is none of the known descriptions", line, phrase)
		}
		for _, m := range codeSpan.FindAllStringSubmatch(cells[0], -1) {
			names = append(names, m[1])
			o, ok := snapshot.LookupOperator(m[1])
			if !ok {
				t.Errorf("the docs list %q, which is not in snapshot.Operators", m[1])
				continue
			}
			if known && (o.Arity != want.arity || o.Operand != want.operand) {
				t.Errorf("the docs say %s takes %q, snapshot.Operators arity %d operand %d", o.Name, phrase, o.Arity, o.Operand)
			}
		}
	}
	if rows == 0 {
		t.Fatal("docs/flag-language.md: the clause operators table has no rows")
	}
	var all, ignoreCase []string
	for _, o := range snapshot.Operators {
		all = append(all, o.Name)
		if o.IgnoreCase {
			ignoreCase = append(ignoreCase, o.Name)
		}
	}
	if !slices.Equal(names, all) {
		t.Errorf("docs/flag-language.md lists the operators\n%q\nsnapshot.Operators\n%q", names, all)
	}

	_, rest, ok := strings.Cut(text, "`ignoreCase: true` makes the string operators (")
	if !ok {
		t.Fatal("docs/flag-language.md: no bullet on the operators ignoreCase applies to")
	}
	list, _, _ := strings.Cut(rest, ")")
	var listed []string
	for _, m := range codeSpan.FindAllStringSubmatch(list, -1) {
		listed = append(listed, m[1])
	}
	if !slices.Equal(listed, ignoreCase) {
		t.Errorf("docs/flag-language.md says ignoreCase applies to %q, snapshot.Operators to %q", listed, ignoreCase)
	}
}
