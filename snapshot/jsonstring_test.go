package snapshot

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"héllo ✓", `"héllo ✓"`},
		{"bad\xffbyte", `"bad\ufffdbyte"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // an encoded surrogate is invalid UTF-8
	} {
		got := string(AppendJSONString([]byte("x"), tc.in))
		if got != "x"+tc.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tc.in, got[1:], tc.want)
		}
		if !json.Valid([]byte(got[1:])) {
			t.Errorf("AppendJSONString(%q) = %s: not valid JSON", tc.in, got[1:])
		}
	}
}

func TestRegexpErrorQuotesAsJSON(t *testing.T) {
	err := &RegexpError{Pattern: "a\x00(", Reason: "missing )"}
	if got, want := err.Error(), `regular expression "a\u0000(": missing )`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func ExampleAppendJSONString() {
	fmt.Println(string(AppendJSONString(nil, "say \"hi\"\n")))
	// Output: "say \"hi\"\n"
}
