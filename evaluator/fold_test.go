package evaluator

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/snapshot"
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

// TestMatchInIgnoreCase holds set membership under ignoreCase to its definition, for small
// and sorted large sets, values that lowerASCII lower-cases (ASCII, up to lowerBuffer bytes)
// and values it leaves to rune-by-rune comparison.
func TestMatchInIgnoreCase(t *testing.T) {
	long := strings.Repeat("X", lowerBuffer)
	values := []string{"", "de", "DE", "De", "FI", "fr", "ZZ", long, long + "Y", strings.ToLower(long + "Y"),
		"ÄÖ", "äö", "İ", "i̇", "K", "\u212a", "\xff", "a\xffb"}
	sets := [][]string{
		{"de", "fi", "äö"},
		{"at", "be", "bg", "cy", "cz", "de", "dk", "ee", "es", "fi", "fr", "gr", "i̇", "k", strings.ToLower(long + "Y"), "äö"},
	}
	for _, set := range sets {
		sorted := append([]string(nil), set...)
		sort.Strings(sorted)
		cl := &snapshot.Clause{Op: snapshot.OpIn, IgnoreCase: true}
		for _, s := range sorted {
			cl.Values = append(cl.Values, snapshot.Literal{Kind: snapshot.LitString, Str: s})
		}
		for _, s := range values {
			v := String(s)
			want := slices.Contains(sorted, strings.ToLower(s))
			if got := matchIn(cl, &v); got != want {
				t.Errorf("%d values: matchIn(%q) = %v, want %v", len(sorted), s, got, want)
			}
		}
	}
}

// TestIndexByte holds indexByte (word at a time in the WASM module) to strings.IndexByte at
// every length and position around the words, with bytes whose borrows could mislead it.
func TestIndexByte(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for at := -1; at < n; at++ {
			for _, c := range []byte{'b', 0, 0x80, 0xff, 1} {
				b := make([]byte, n)
				for i := range b {
					b[i] = c + 1 + byte(i%3) // never c, and c+1 next to it
				}
				if at >= 0 {
					b[at] = c
					if at+1 < n {
						b[at+1] = c // a second c after the first
					}
				}
				s := string(b)
				if got, want := indexByte(s, c), strings.IndexByte(s, c); got != want {
					t.Fatalf("indexByte(%q, %q) = %d, want %d", s, c, got, want)
				}
			}
		}
	}
}
