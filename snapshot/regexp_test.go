package snapshot

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// regexpCases are patterns and inputs where the VM must agree with package regexp.
var regexpCases = []struct {
	pattern string
	inputs  []string
}{
	{`^[a-z.]+@company\.com$`, []string{"ann@company.com", "ann.lee@company.com", "Ann@company.com", "ann@company.com.evil", "x ann@company.com", ""}},
	{`@company\.com`, []string{"ann@company.com", "ann@company.co", "@company.com@company.com"}},
	{`(?i)^beta-`, []string{"BETA-1", "Beta-x", "abeta-", "beta"}},
	{`(?i)straße`, []string{"STRASSE", "STRAßE", "straße", "Straße"}},
	{`(?i)k`, []string{"K", "k", "\u212a", "x"}}, // KELVIN SIGN folds to k
	{`\bbot\b`, []string{"googlebot", "a bot here", "bot", "robots", "bot!"}},
	{`\Bbot`, []string{"googlebot", "bot", "a bot"}},
	{`(?m)^x$`, []string{"a\nx\nb", "ax", "x", "x\n"}},
	{`^$`, []string{"", "a", "\n"}},
	{`(?s).`, []string{"\n", "", "a"}},
	{`.`, []string{"\n", "\n\n", "ab"}},
	{`a*`, []string{"", "bbb"}},
	{`(a|ab)(c|bcd)(d*)`, []string{"abcd", "abc", "acd", "xabcdx"}},
	{`(a*)*b`, []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", "aaab"}},
	{`(a+)+$`, []string{strings.Repeat("a", 64) + "!", "aa"}},
	{`[^a-z]`, []string{"abc", "abC", "\xff", "é"}},
	{`\p{Greek}+`, []string{"abc", "αβγ", "a β"}},
	{`[\p{Lu}\d]{2,3}z`, []string{"AB1z", "ab1z", "É9z"}},
	{`\x{10FFFF}|\x{0}`, []string{"\U0010FFFF", "\x00", "a"}},
	{`\x{FFFD}`, []string{"\xff", "\uFFFD", "a"}},
	{`^\S+\s\S+$`, []string{"a b", "a  b", "ab"}},
	{`(?U)a+?b`, []string{"aab", "b"}},
	{`x{3,5}`, []string{"xx", "xxx", "axxxxxxb"}},
	{`\Aab\z`, []string{"ab", "ab\n", "aab"}},
	{`a$|^b`, []string{"xa", "bx", "xb", "ax"}},
	{`[[:alpha:]]+[[:digit:]]`, []string{"abc1", "1", "a"}},
}

func TestRegexpMatchesPackageRegexp(t *testing.T) {
	for _, tt := range regexpCases {
		re, err := CompileRegexp(tt.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		std := regexp.MustCompile(tt.pattern)
		for _, in := range tt.inputs {
			if got, want := re.MatchString(in), std.MatchString(in); got != want {
				t.Errorf("%q on %q: %v, package regexp says %v", tt.pattern, in, got, want)
			}
		}
	}
}

func TestRegexpSurvivesEncoding(t *testing.T) {
	for _, tt := range regexpCases {
		re, _ := CompileRegexp(tt.pattern)
		r := reader{b: appendRegexp(nil, re)}
		got := r.regexp()
		if r.err != nil {
			t.Fatalf("%q: %v", tt.pattern, r.err)
		}
		if r.off != len(r.b) {
			t.Fatalf("%q: %d trailing bytes", tt.pattern, len(r.b)-r.off)
		}
		for _, in := range tt.inputs {
			if got.MatchString(in) != re.MatchString(in) {
				t.Errorf("%q on %q: decoded program answers differently", tt.pattern, in)
			}
		}
	}
}

func TestRegexpLargeProgram(t *testing.T) {
	// More instructions than smallProgram: the working space comes from the heap and is
	// reused.
	pattern := `^(?:` + strings.Repeat(`[a-c]x`, 200) + `)$`
	re, err := CompileRegexp(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if re.Len() <= smallProgram {
		t.Fatalf("program of %d instructions is not large", re.Len())
	}
	std := regexp.MustCompile(pattern)
	for _, in := range []string{strings.Repeat("ax", 200), strings.Repeat("ax", 199) + "dx", "ax"} {
		for range 2 {
			if got, want := re.MatchString(in), std.MatchString(in); got != want {
				t.Errorf("%d bytes: %v, want %v", len(in), got, want)
			}
		}
	}
}

func TestCompileRegexpErrors(t *testing.T) {
	for _, pattern := range []string{`(`, `a{1001}`, `[z-a]`, `\8`} {
		if _, err := CompileRegexp(pattern); err == nil {
			t.Errorf("%q compiled", pattern)
		}
	}
	big := strings.Repeat(`(?:ab|cd)`, MaxRegexpInsts/4)
	if _, err := CompileRegexp(big); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("oversize program: %v", err)
	}
}

// TestDecodeRegexpRejectsHostilePrograms hand-writes programs that must not decode.
func TestDecodeRegexpRejectsHostilePrograms(t *testing.T) {
	u := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = appendUvarint(b, v)
		}
		return b
	}
	cat := func(parts ...[]byte) []byte {
		return []byte(strings.Join(func() []string {
			s := make([]string, len(parts))
			for i, p := range parts {
				s[i] = string(p)
			}
			return s
		}(), ""))
	}
	tests := []struct {
		name string
		prog []byte
	}{
		{"empty", u(0)},
		{"too large", u(MaxRegexpInsts + 1)},
		{"start out of range", cat(u(1, 1), []byte{byte(reMatch)})},
		{"jump out of range", cat(u(2, 0), []byte{byte(reNop)}, u(2), []byte{byte(reMatch)})},
		{"alt out of range", cat(u(2, 0), []byte{byte(reAlt)}, u(1, 7), []byte{byte(reMatch)})},
		{"bad opcode", cat(u(1, 0), []byte{byte(reOpEnd)})},
		{"bad empty flags", cat(u(2, 0), []byte{byte(reEmpty)}, u(1), []byte{0x40, byte(reMatch)})},
		{"no ranges", cat(u(2, 0), []byte{byte(reRange)}, u(1, 0), []byte{byte(reMatch)})},
		{"range beyond Unicode", cat(u(2, 0), []byte{byte(reRange)}, u(1, 1, utf8.MaxRune, 1), []byte{byte(reMatch)})},
		{"ranges out of order", cat(u(2, 0), []byte{byte(reRange)}, u(1, 2, 'm', 0, 'a', 0), []byte{byte(reMatch)})},
		{"truncated", cat(u(3, 0), []byte{byte(reNop)}, u(1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reader{b: tt.prog}
			if re := r.regexp(); r.err == nil {
				t.Fatalf("decoded %+v", re)
			}
		})
	}
}

// TestRegexpJumpLoopsTerminate runs programs whose jumps form cycles without consuming
// input: a decoded snapshot may hold any program that passes the checks.
func TestRegexpJumpLoopsTerminate(t *testing.T) {
	progs := []*Regexp{
		{insts: []reInst{{op: reNop, out: 0}}},
		{insts: []reInst{{op: reAlt, out: 0, alt: 1}, {op: reEmpty, empty: emptyWordBoundary, out: 0}}},
		{insts: []reInst{{op: reAlt, out: 1, alt: 0}, {op: reAny, out: 0}}},
		{insts: []reInst{{op: reAlt, out: 1, alt: 2}, {op: reAny, out: 0}, {op: reMatch}}, start: 0},
	}
	wants := []bool{false, false, false, true}
	for i, re := range progs {
		re.derive()
		if got := re.MatchString(strings.Repeat("ab ", 100)); got != wants[i] {
			t.Errorf("program %d: %v, want %v", i, got, wants[i])
		}
	}
}

// general runs the program on the general VM, whatever its size.
func general(re *Regexp, s string) bool {
	n := len(re.insts)
	return re.match(&reMachine{cur: make([]uint16, n), next: make([]uint16, n), stack: make([]uint16, n),
		visited: make([]uint64, (n+63)/64)}, s)
}

func TestRegexpEnginesAgree(t *testing.T) {
	for _, tt := range regexpCases {
		re, _ := CompileRegexp(tt.pattern)
		if re.Len() > 64 {
			continue
		}
		for _, in := range tt.inputs {
			if got, want := re.match64(in), general(re, in); got != want {
				t.Errorf("%q on %q: bit sets say %v, the general VM %v", tt.pattern, in, got, want)
			}
		}
	}
}

func TestRegexpDoesNotAllocate(t *testing.T) {
	re, _ := CompileRegexp(`^[a-z.]+@company\.com$`)
	if n := testing.AllocsPerRun(100, func() { re.MatchString("ann.lee@company.com") }); n != 0 {
		t.Errorf("%v allocations per match", n)
	}
}

// FuzzRegexp holds the VM to package regexp: for every pattern package regexp accepts,
// compiled, encoded and decoded, both must agree on every input.
// go test ./snapshot -run '^$' -fuzz FuzzRegexp
func FuzzRegexp(f *testing.F) {
	for _, tt := range regexpCases {
		for _, in := range tt.inputs {
			f.Add(tt.pattern, in)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, input string) {
		std, err := regexp.Compile(pattern)
		re, err2 := CompileRegexp(pattern)
		if err != nil {
			if err2 == nil {
				t.Fatalf("%q: package regexp refuses it (%v), CompileRegexp accepts it", pattern, err)
			}
			return
		}
		if err2 != nil {
			if strings.Contains(err2.Error(), "more than the limit") {
				return
			}
			t.Fatalf("%q: %v", pattern, err2)
		}
		r := reader{b: appendRegexp(nil, re)}
		decoded := r.regexp()
		if r.err != nil {
			t.Fatalf("%q: the program does not decode: %v", pattern, r.err)
		}
		want := std.MatchString(input)
		if got := re.MatchString(input); got != want {
			t.Fatalf("%q on %q: %v, package regexp says %v", pattern, input, got, want)
		}
		if got := decoded.MatchString(input); got != want {
			t.Fatalf("%q on %q: decoded program says %v, package regexp %v", pattern, input, got, want)
		}
		if got := general(re, input); got != want {
			t.Fatalf("%q on %q: the general VM says %v, package regexp %v", pattern, input, got, want)
		}
	})
}

// matchesSnapshot is sample() with a matches clause on email.
func matchesSnapshot() *Snapshot {
	s := sample()
	s.Segments[0].When = Condition{Kind: CondClause, Clause: Clause{Attribute: 0, Op: OpMatches,
		Values: []Literal{{Kind: LitString, Str: `^[a-z.]+@company\.com$`}, {Kind: LitString, Str: `(?i)^qa\+`}}}}
	return s
}

func TestMatchesClauseCarriesItsPrograms(t *testing.T) {
	s := matchesSnapshot()
	cl := &s.Segments[0].When.Clause
	if reason := cl.Prepare(); reason != "" {
		t.Fatal(reason)
	}
	data := Encode(s)
	if !bytes.Equal(data, Encode(matchesSnapshot())) {
		t.Fatal("Encode compiles the programs Prepare has not into different bytes")
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	res := got.Segments[0].When.Clause.Regexps
	if len(res) != 2 {
		t.Fatalf("%d programs decoded", len(res))
	}
	for _, tt := range []struct {
		in   string
		want [2]bool
	}{{"ann.lee@company.com", [2]bool{true, false}}, {"QA+x@company.com", [2]bool{false, true}}, {"x", [2]bool{}}} {
		for i, re := range res {
			if re.MatchString(tt.in) != tt.want[i] {
				t.Errorf("program %d on %q: %v", i, tt.in, !tt.want[i])
			}
		}
	}
	if again := Encode(got); !bytes.Equal(again, data) {
		t.Fatal("Decode then Encode changed the bytes")
	}
}

func TestPrepareRejectsBadPatterns(t *testing.T) {
	cl := Clause{Op: OpMatches, Values: []Literal{{Kind: LitString, Str: `(`}}}
	if reason := cl.Prepare(); reason != "bad regular expression" {
		t.Errorf("Prepare = %q", reason)
	}
}

// TestDecodeRejectsMisplacedPrograms: a matches clause must carry its programs (older
// snapshots do not, and must be recompiled) and no other clause may.
func TestDecodeRejectsMisplacedPrograms(t *testing.T) {
	// Each case finds the segment's clause in the encoding (as the writer writes it) and
	// rewrites it.
	data := Encode(matchesSnapshot())
	plain := sample()
	plainData := Encode(plain)
	tests := []struct {
		name string
		data []byte
	}{
		{"matches without programs", func() []byte {
			// Rewrite the matches clause as encoded by an older compiler: flags without the
			// programs bit, no programs after the values.
			s := matchesSnapshot()
			var w writer
			w.condition(&s.Segments[0].When)
			clause := w.b
			at := bytes.Index(data, clause)
			if at < 0 {
				t.Fatal("clause not found")
			}
			old := append([]byte(nil), clause...)
			flagsAt := 1 + len(appendUvarint(nil, 0)) + 1 // kind, attribute, operator
			old[flagsAt] &^= clausePrograms
			var values writer
			for _, v := range s.Segments[0].When.Clause.Values {
				values.byte(byte(v.Kind))
				values.str(v.Str)
			}
			end := flagsAt + 1 + len(appendUvarint(nil, 2)) + len(values.b)
			out := append(append(append([]byte(nil), data[:at]...), old[:end]...), data[at+len(clause):]...)
			return rehash(out)
		}()},
		{"programs on another clause", func() []byte {
			var w writer
			w.condition(&plain.Segments[0].When)
			at := bytes.Index(plainData, w.b)
			out := bytes.Clone(plainData)
			out[at+1+1+1] |= clausePrograms // kind, attribute, operator, flags
			return rehash(out)
		}()},
	}
	for _, tt := range tests {
		_, err := Decode(tt.data)
		if err == nil || !strings.Contains(err.Error(), "compiled programs") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func rehash(b []byte) []byte {
	sum := sum256(b[headerSize:])
	copy(b[8:headerSize], sum[:])
	return b
}
