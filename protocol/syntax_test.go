package protocol

import (
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
)

// checkJSONSeeds hold every message of the syntax check, at the top level and inside
// arrays and objects, with whitespace around and inside values.
var checkJSONSeeds = []string{
	``, ` `, "\t\n\r ", `{}`, `[]`, ` { } `, `[ ]`, `{"a":1}`, ` {"a" : [1, "x", true, false, null, {}, []] } `,
	`{`, `[`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `[1`, `[1,`, `"`, `"abc`, `"\`, `"\u12`, `"\u12g4"`,
	`"\x"`, "\"a\x01b\"", "\"\xff\xfe\"", "\"\\u00e9\xc3\xa9\"", `tru`, `trux`, `fals`, `nul`, `nulL`, `t`, `x`, `'a'`,
	`-`, `-a`, `01`, `1.`, `1.x`, `.5`, `1e`, `1e+`, `1ex`, `-0.5e-3`, `1E9`, `0`, `-0`,
	`{"a":1}}`, `{"a":1]`, `[1}`, `[1 2]`, `{"a" 1}`, `{"a":1 "b":2}`, `{1:2}`, `{"a":1,}`, `[1,]`, `[,]`, `{,}`,
	`{"a":1} x`, `1 2`, `"a" "b"`, `{}{}`, "{}\x00", `{"a":"b"}` + "\n", "\xef\xbb\xbf{}", `{"a":[1,{"b":[{"c":}]}]}`,
	strings.Repeat("[", maxSkipDepth) + strings.Repeat("]", maxSkipDepth),
	strings.Repeat("[", maxSkipDepth+1) + strings.Repeat("]", maxSkipDepth+1),
	strings.Repeat(`{"a":`, maxSkipDepth) + "1" + strings.Repeat("}", maxSkipDepth),
	strings.Repeat(`{"a":`, maxSkipDepth+1) + "1" + strings.Repeat("}", maxSkipDepth+1),
	strings.Repeat(`[{"a":`, 300) + strings.Repeat("}]", 300),
}

// The syntax check gives the messages it gave before it moved to snapshot.CheckJSON,
// byte for byte, for every input: refValidate is the code as it was.
func FuzzCheckJSONMessages(f *testing.F) {
	for _, s := range checkJSONSeeds {
		f.Add(s)
	}
	var p Parser
	f.Fuzz(func(t *testing.T, s string) {
		want := (&refParser{s: s}).refValidate()
		got := p.start([]byte(s), evaluator.NewContext())
		switch {
		case got == nil && want == nil:
		case got == nil || want == nil:
			t.Fatalf("%q: got %v, want %v", s, got, want)
		case *got != *want:
			t.Fatalf("%q:\ngot  %v\nwant %v", s, got, want)
		}
	})
}

// A few of the messages, spelled out.
func TestCheckJSONMessages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1 "b":2}`, `invalid JSON: invalid character '"' after an object member: expected ',' or '}' (at byte 7)`},
		{`[1 2]`, `invalid JSON: invalid character '2' after a list element: expected ',' or ']' (at byte 3)`},
		{"\"a\x01\"", `invalid JSON: control character 0x1 in a string (at byte 2)`},
		{`"\u12g4"`, `invalid JSON: invalid character 'g' in a \u escape (at byte 5)`},
		{`{"a" 1}`, `invalid JSON: invalid character '1' after an object member name: expected ':' (at byte 5)`},
		{`-x`, `invalid JSON: invalid character 'x' in a number (at byte 1)`},
		{strings.Repeat("[", maxSkipDepth+1), `invalid JSON: JSON nested deeper than 512 levels (at byte 512)`},
		{"\"\xff\"", ``},
		{" {} \n", ``},
	} {
		got := ""
		if err := new(Parser).start([]byte(tc.in), evaluator.NewContext()); err != nil {
			got = err.Details
			if err.Code != evaluator.ErrParse {
				t.Errorf("%q: code %s", tc.in, err.Code)
			}
		}
		if got != tc.want {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
