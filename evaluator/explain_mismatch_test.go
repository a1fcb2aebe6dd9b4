//go:build !wasip1

package evaluator

import (
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

func TestExplainSaysWhyATypedClauseFails(t *testing.T) {
	number := func(op snapshot.Op) *snapshot.Clause {
		return &snapshot.Clause{Op: op, Values: []snapshot.Literal{{Kind: snapshot.LitNumber, Num: 365}}}
	}
	semver := &snapshot.Clause{Op: snapshot.OpSemverGte, Values: []snapshot.Literal{{Kind: snapshot.LitSemver, Str: "2.0.0"}}}
	strs := &snapshot.Clause{Op: snapshot.OpStartsWith, Values: []snapshot.Literal{{Kind: snapshot.LitString, Str: "en"}}}
	before := &snapshot.Clause{Op: snapshot.OpBefore, Values: []snapshot.Literal{{Kind: snapshot.LitTime, Num: 1e12}}}
	s := func(v string) *Value { return &Value{kind: StringKind, str: v} }
	n := func(v float64) *Value { return &Value{kind: NumberKind, num: v} }
	tests := []struct {
		name string
		cl   *snapshot.Clause
		v    *Value
		want string // "" for no note
	}{
		{"a string compared with a number", number(snapshot.OpGt), s("366"), `: "366" is a string, and gt compares numbers only (a string is never converted)`},
		{"a number compared with a number", number(snapshot.OpGt), n(366), ""},
		{"a string equal to a number", number(snapshot.OpIn), s("365"), `: "365" is a string and the values are numbers: a string never equals a number`},
		{"a number equal to a number", number(snapshot.OpIn), n(364), ""},
		{"not a version", semver, s("banana"), `: "banana" is not a version (MAJOR.MINOR.PATCH, as 1.4.2 or v1.4.2)`},
		{"a version with a v", semver, s("v1.9.0"), ""},
		{"a number where a version is compared", semver, n(2), ": 2 is a number, and semverGte compares version strings only"},
		{"a number where a string is compared", strs, n(42), ": 42 is a number, and startsWith compares strings only"},
		{"not a time", before, s("yesterday"), `: "yesterday" is not a time (RFC 3339, as 2026-12-01T09:00:00Z, or Unix milliseconds)`},
		{"a time", before, s("2001-01-01T00:00:00Z"), ""},
		{"a list with one comparable element", number(snapshot.OpGt), &Value{kind: ListKind, list: []Value{*s("a"), *n(400)}}, ""},
		{"a list without one", number(snapshot.OpGt), &Value{kind: ListKind, list: []Value{*s("a")}}, `: no element can match: "a" is a string, and gt compares numbers only (a string is never converted)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mismatch(tt.cl, tt.v); got != tt.want {
				t.Errorf("mismatch = %q\nwant       %q", got, tt.want)
			}
		})
	}
}

func TestExplainTraceNamesTheTypeMismatch(t *testing.T) {
	b := &builder{}
	f := b.boolFlag("loyalty")
	f.Rules = []snapshot.Rule{{Name: "long-time", When: b.clause("accountAgeDays", snapshot.OpGt, num(365)),
		Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()}}}
	b.flags = []snapshot.Flag{f}
	s := b.build(t)
	_, tr := New(s).Explain("loyalty", NewContext().SetString("accountAgeDays", "366"), evalTime)
	want := `✗ accountAgeDays gt 365: context has "366": "366" is a string, and gt compares numbers only (a string is never converted)`
	if !strings.Contains(tr.String(), want) {
		t.Errorf("trace lacks %q:\n%s", want, tr)
	}
}
