package evaluator

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLowerRuneMatchesUnicode(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune+1; r++ {
		if got, want := lowerRune(r), unicode.ToLower(r); got != want {
			t.Fatalf("lowerRune(%U) = %U, unicode.ToLower says %U (run go generate ./evaluator after a Go upgrade)", r, got, want)
		}
	}
}

// foldReference is what ignoreCase means: lower-case the value with strings.ToLower, then
// compare with the (lower-case) literal.
func foldReference(op stringOp, s, lit string) bool {
	s = strings.ToLower(s)
	switch op {
	case opPrefix:
		return strings.HasPrefix(s, lit)
	case opSuffix:
		return strings.HasSuffix(s, lit)
	}
	return strings.Contains(s, lit)
}

var foldCases = []struct{ s, lit string }{
	{"Ann@Company.COM", "@company.com"},
	{"ANN", "ann"},
	{"", ""},
	{"abc", ""},
	{"", "a"},
	{"ÄRGER", "ärger"},
	{"STRASSE", "straße"},
	{"Straße", "straße"},
	{"ΣΊΣΥΦΟΣ", "σίσυφοσ"},
	{"\u212a", "k"},      // KELVIN SIGN lower-cases to k (3 bytes to 1)
	{"\u0130", "i̇"},     // LATIN CAPITAL I WITH DOT ABOVE
	{"\u023a", "\u2c65"}, // Ⱥ lower-cases to ⱥ (2 bytes to 3)
	{"x\xffy", "x\uFFFDy"},
	{"\xe2\x82", "\uFFFD"},
	{"MOZILLA MOBILE SAFARI", "mobile"},
	{"ÉCOLE", "éco"},
	{"façade", "ÇADE"},
}

func TestMatchLowerMatchesStringsToLower(t *testing.T) {
	for _, tt := range foldCases {
		for _, op := range []stringOp{opPrefix, opSuffix, opContains} {
			if got, want := matchLower(op, tt.s, tt.lit), foldReference(op, tt.s, tt.lit); got != want {
				t.Errorf("op %d %q %q: %v, want %v", op, tt.s, tt.lit, got, want)
			}
		}
		if got, want := sign(compareLower(tt.s, tt.lit)), strings.Compare(strings.ToLower(tt.s), tt.lit); got != want {
			t.Errorf("compareLower(%q, %q) = %d, want %d", tt.s, tt.lit, got, want)
		}
	}
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func TestMatchExact(t *testing.T) {
	for _, tt := range foldCases {
		for _, lit := range []string{tt.lit, tt.s, "", tt.s + "x"} {
			for op, want := range map[stringOp]bool{
				opPrefix: strings.HasPrefix(tt.s, lit), opSuffix: strings.HasSuffix(tt.s, lit), opContains: strings.Contains(tt.s, lit),
			} {
				if got := matchExact(op, tt.s, lit); got != want {
					t.Errorf("op %d %q %q: %v, want %v", op, tt.s, lit, got, want)
				}
			}
		}
	}
}

// FuzzFold holds the case-insensitive operators to their definition.
// go test ./evaluator -run '^$' -fuzz FuzzFold
func FuzzFold(f *testing.F) {
	for _, tt := range foldCases {
		f.Add(tt.s, tt.lit)
	}
	f.Fuzz(func(t *testing.T, s, lit string) {
		lit = strings.ToLower(lit) // literals are stored lower-cased
		if !utf8.ValidString(lit) {
			return
		}
		for _, op := range []stringOp{opPrefix, opSuffix, opContains} {
			if got, want := matchLower(op, s, lit), foldReference(op, s, lit); got != want {
				t.Fatalf("op %d %q %q: %v, want %v", op, s, lit, got, want)
			}
		}
		if got, want := sign(compareLower(s, lit)), strings.Compare(strings.ToLower(s), lit); got != want {
			t.Fatalf("compareLower(%q, %q) = %d, want %d", s, lit, got, want)
		}
	})
}
