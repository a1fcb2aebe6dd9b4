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

// The scanner agrees with encoding/json on every input the fuzzer finds, except that it
// also refuses whitespace around the value and invalid UTF-8 (which encoding/json lets
// through and replaces).
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,true,null,{"b":"c"}]}`, `"x\u00e9"`, `-1.5e3`, `[[]]`, `{"a":1,}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := validJSON(s)
		want := json.Valid([]byte(s)) && strings.TrimSpace(s) == s && utf8.ValidString(s) && !deeper(s, maxJSONDepth)
		if got != want {
			t.Errorf("validJSON(%q) = %v, encoding/json says %v", s, got, want)
		}
	})
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
