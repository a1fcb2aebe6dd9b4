package snapshot

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidLiteral(t *testing.T) {
	deep := strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)
	for _, tc := range []struct {
		typ  ValueType
		text string
		want bool
	}{
		{TypeBoolean, "true", true},
		{TypeBoolean, "false", true},
		{TypeBoolean, `true,"injected":"yes"`, false},
		{TypeBoolean, "1", false},
		{TypeBoolean, "", false},
		{TypeString, `"blue"`, true},
		{TypeString, `"a\"b\\c\u00e9\n"`, true},
		{TypeString, `"blue","injected":"yes"`, false},
		{TypeString, `"unterminated`, false},
		{TypeString, "\"ctl\x01\"", false},
		{TypeString, "\"bad\xffutf8\"", false},
		{TypeString, `"bad\x"`, false},
		{TypeString, `"bad\u12g4"`, false},
		{TypeString, `42`, false},
		{TypeNumber, `42`, true},
		{TypeNumber, `-0.5e+3`, true},
		{TypeNumber, `01`, false},
		{TypeNumber, `1.`, false},
		{TypeNumber, `.5`, false},
		{TypeNumber, `1e`, false},
		{TypeNumber, `NaN`, false},
		{TypeNumber, `"1"`, false},
		{TypeJSON, `{"a":[1,true,null,{"b":"c"}],"d":{}}`, true},
		{TypeJSON, `{ "a" : [ 1 , 2 ] }`, true},
		{TypeJSON, `[]`, true},
		{TypeJSON, `null`, true},
		{TypeJSON, deep, true},
		{TypeJSON, "[" + deep + "]", false},
		{TypeJSON, ` {}`, false},
		{TypeJSON, `{} `, false},
		{TypeJSON, `{"a":1}}`, false},
		{TypeJSON, `{"a":1,}`, false},
		{TypeJSON, `[1,]`, false},
		{TypeJSON, `{"a"}`, false},
		{TypeJSON, `{1:2}`, false},
		{TypeJSON, `[1 2]`, false},
		{TypeJSON, `{"a":1]`, false},
		{TypeJSON, `[`, false},
		{TypeJSON, `tru`, false},
		{TypeJSON, `{},{}`, false},
		{ValueType(9), `1`, false},
	} {
		if got := validLiteral(tc.typ, tc.text); got != tc.want {
			t.Errorf("validLiteral(%s, %q) = %v, want %v", tc.typ, tc.text, got, tc.want)
		}
	}
}

// The scanner agrees with encoding/json on every input the fuzzer finds, except that
// variant values may have no whitespace around them and must be valid UTF-8 (which
// encoding/json lets through and replaces).
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,true,null,{"b":"c"}]}`, `"x\u00e9"`, `-1.5e3`, `[[]]`, `{"a":1,}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		problem, _ := CheckJSON(s, variantJSON)
		got := problem == ""
		want := json.Valid([]byte(s)) && strings.TrimSpace(s) == s && utf8.ValidString(s) && !deeper(s, maxJSONDepth)
		if got != want {
			t.Errorf("CheckJSON(%q) = %q, encoding/json says %v", s, problem, want)
		}
	})
}

// CheckJSON agrees with encoding/json under every option: whitespace around the value
// refused unless Space, invalid UTF-8 in strings refused if UTF8, nesting over MaxDepth
// (or MaxJSONNesting) refused. It finds a problem within the text, and reads a valid
// text to its end.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{` {"a":[1,true,null,{"b":"c"}]} `, "\"\xff\"", "\t[[]]\n", `[[[1]]]`, `{"a" 1}`,
		strings.Repeat("[", 600) + strings.Repeat("]", 600)} {
		f.Add(s, true, false, uint16(2))
		f.Add(s, false, true, uint16(MaxJSONNesting+1))
	}
	f.Fuzz(func(t *testing.T, s string, space, valid bool, depth uint16) {
		o := JSONOptions{MaxDepth: int(depth % 1024), Space: space, UTF8: valid}
		problem, at := CheckJSON(s, o)
		want := json.Valid([]byte(s)) && (space || strings.Trim(s, " \t\n\r") == s) &&
			(!valid || utf8.ValidString(s)) && !deeper(s, min(o.MaxDepth, MaxJSONNesting))
		if (problem == "") != want {
			t.Fatalf("CheckJSON(%q, %+v) = %q at %d, encoding/json says %v", s, o, problem, at, want)
		}
		if problem == "" && at != len(s) || at < 0 || at > len(s) {
			t.Fatalf("CheckJSON(%q, %+v) = %q at %d", s, o, problem, at)
		}
	})
}

// CheckJSON names the first problem and its offset.
func TestCheckJSON(t *testing.T) {
	strict := JSONOptions{MaxDepth: 2, UTF8: true}
	loose := JSONOptions{MaxDepth: MaxJSONNesting + 100, Space: true}
	for _, tc := range []struct {
		in      string
		o       JSONOptions
		problem string
		at      int
	}{
		{`{"a":[1]}`, strict, "", 9},
		{` {"a":[ 1 ] } `, loose, "", 14},
		{``, strict, "unexpected end of JSON input", 0},
		{` 1`, strict, "invalid character ' ' where a value is expected", 0},
		{"1\n", strict, "invalid character 0xa after the JSON value", 1},
		{"1\n", loose, "", 2},
		{`{"a":[[1]]}`, strict, "JSON nested deeper than 2 levels", 6},
		{strings.Repeat("[", 513), loose, "JSON nested deeper than 512 levels", 512},
		{"\"a\xffb\"", strict, "invalid UTF-8 in a string", 2},
		{"\"a\xffb\"", loose, "", 5},
		{"\"a\xe2\x82\"", strict, "invalid UTF-8 in a string", 2},
		{"\"\x1f\"", loose, "control character 0x1f in a string", 1},
		{`"\q"`, loose, "invalid escape 'q' in a string", 2},
		{`"\u00zz"`, loose, `invalid character 'z' in a \u escape`, 5},
		{`"\u00`, loose, "unexpected end of JSON input", 1},
		{`{"a":1,"b"}`, loose, "invalid character '}' after an object member name: expected ':'", 10},
		{`{"a":1 "b":2}`, loose, `invalid character '"' after an object member: expected ',' or '}'`, 7},
		{`[1,2}`, loose, `invalid character '}' after a list element: expected ',' or ']'`, 4},
		{`{'a':1}`, loose, `invalid character 0x27 where an object member name is expected`, 1},
		{`[nul]`, loose, "invalid character ']' in literal null", 4},
		{`-01`, loose, "invalid character '1' after the JSON value", 2},
		{`1.e5`, loose, "invalid character 'e' in a number", 2},
		{`[1e`, loose, "unexpected end of JSON input", 3},
		{`[1,`, loose, "unexpected end of JSON input", 3},
	} {
		problem, at := CheckJSON(tc.in, tc.o)
		if problem != tc.problem || at != tc.at {
			t.Errorf("CheckJSON(%q, %+v) = %q at %d, want %q at %d", tc.in, tc.o, problem, at, tc.problem, tc.at)
		}
	}
}

// CheckJSON allocates only to describe a problem.
func TestCheckJSONAllocations(t *testing.T) {
	text := `{"a":[1,-2.5e3,true,false,null,{"b":"c\u00e9\n"}],"d":{}}`
	for _, o := range []JSONOptions{variantJSON, {MaxDepth: MaxJSONNesting, Space: true}} {
		if n := testing.AllocsPerRun(100, func() { CheckJSON(text, o) }); n != 0 {
			t.Errorf("CheckJSON(%+v) allocates %v times", o, n)
		}
	}
}

// deeper reports whether s, valid JSON, nests containers more than max deep.
func deeper(s string, max int) bool {
	depth, in, esc := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == '[' || c == '{'):
			if depth++; depth > max {
				return true
			}
		case !in && (c == ']' || c == '}'):
			depth--
		}
	}
	return false
}

// Decode refuses a snapshot, checksum and all, whose variant value is not one JSON value
// of its flag's type: evaluators copy it into their responses.
func TestDecodeRefusesBadVariantValues(t *testing.T) {
	for _, tc := range []struct {
		typ  ValueType
		json string
	}{
		{TypeBoolean, `true,"injected":"yes"`},
		{TypeString, `"a"}`},
		{TypeNumber, `1 2`},
		{TypeJSON, `{"a":`},
		{TypeString, "\"\xff\""},
	} {
		s := &Snapshot{Environment: "production", Attributes: []string{"userId"}, Flags: []Flag{{
			Key: "f", Type: tc.typ, Enabled: true, BucketBy: 0, ReleaseRing: NoIndex,
			Variants: []Variant{{Name: "v", JSON: tc.json}},
			Rollout:  Serve{Kind: ServeVariant, Portion: Portion{Kind: PortionAll, BucketBy: NoIndex}},
		}}}
		_, err := Decode(Encode(s))
		if err == nil || !strings.Contains(err.Error(), `variant "v" of flag "f": value is not one JSON `+tc.typ.String()+" value") {
			t.Errorf("%s %q: err = %v", tc.typ, tc.json, err)
		}
		s.Flags[0].Variants[0].JSON = map[ValueType]string{TypeBoolean: "true", TypeString: `"a"`, TypeNumber: "1", TypeJSON: `{"a":1}`}[tc.typ]
		if _, err := Decode(Encode(s)); err != nil {
			t.Errorf("%s valid: %v", tc.typ, err)
		}
	}
}

func BenchmarkCheckJSON(b *testing.B) {
	request := JSONOptions{MaxDepth: MaxJSONNesting, Space: true}
	for _, bc := range []struct {
		name, text string
		o          JSONOptions
	}{
		{"object", `{"context":{"targetingKey":"user-1","account":{"plan":"pro"},"email":"a@example.com","n":[1,-2.5,3e10]}}`, request},
		{"long-string", `{"pad":"` + strings.Repeat("abcdefgh", 256) + `"}`, request},
		{"long-string-utf8", `{"pad":"` + strings.Repeat("abcdéfgh", 256) + `"}`, variantJSON},
		{"deep", strings.Repeat(`[`, 128) + strings.Repeat(`]`, 128), variantJSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				if p, at := CheckJSON(bc.text, bc.o); p != "" {
					b.Fatal(p, at)
				}
			}
		})
	}
}
