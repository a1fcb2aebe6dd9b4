package termsafe

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, → and ü", "plain text, → and ü"},
		{"line\nnext\tcol", "line\nnext\tcol"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"bell\a", `bell\x07`},
		{"over\rwrite", `over\x0dwrite`},
		{"back\bspace", `back\x08space`},
		{"nul\x00", `nul\x00`},
		{"del\x7f", `del\u007f`},
		{"c1 \u009b2J", `c1 \u009b2J`},
		{"evil\u202eexe.txt", `evil\u202eexe.txt`},
		{"\u2066isolate\u2069 \u200f\u061c\u2028", `\u2066isolate\u2069 \u200f\u061c\u2028`},
		{"bad \xff utf-8", `bad \xff utf-8`},
		{`already \x1b escaped`, `already \x1b escaped`},
	}
	for _, tc := range tests {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriterKeepsMarkedControlsOnly(t *testing.T) {
	m := NewMarker()
	var out bytes.Buffer
	w := m.NewWriter(&out)
	own := m.Control("\x1b[31m") + "name: " + "\x1b[32mfake\u202e\r\a" + m.Control("\x1b[0m") + "\n" + m.Control("\r") + "50%"
	if _, err := w.Write([]byte(own)); err != nil {
		t.Fatal(err)
	}
	want := "\x1b[31mname: " + `\x1b[32mfake\u202e\x0d\x07` + "\x1b[0m\n\r50%"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}

	// Another Marker's marks are input like any other.
	out.Reset()
	if _, err := w.Write([]byte(NewMarker().Control("\x1b[31m"))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("a foreign mark passed: %q", out.String())
	}
}

// TestWriterSplitWrites writes byte by byte: characters and marks split across writes
// come out as if written at once.
func TestWriterSplitWrites(t *testing.T) {
	m := NewMarker()
	in := m.Control("\x1b[1m") + "ü→\u202e\x1b" + m.Control("\x1b[0m") + "end\xe2"
	var whole, split bytes.Buffer
	if _, err := m.NewWriter(&whole).Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	w := m.NewWriter(&split)
	for i := range len(in) {
		if _, err := w.Write([]byte{in[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\x1b[1mü→" + `\u202e\x1b` + "\x1b[0mend"
	if whole.String() != want {
		t.Errorf("one write: %q, want %q (the last, incomplete, character held back)", whole.String(), want)
	}
	if split.String() != want+`\xe2` {
		t.Errorf("split writes: %q, want %q", split.String(), want+`\xe2`)
	}
}

// TestWriterKeepsJSONValid: JSON as encoding/json writes it stays valid and means the
// same once escaped.
func TestWriterKeepsJSONValid(t *testing.T) {
	v := map[string]string{"reason": "a\x1b[2J\a\r\u202e\x7f\u0085\u2028 b"}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := NewWriter(&out).Write(data); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%s: %v", out.Bytes(), err)
	}
	if got["reason"] != v["reason"] {
		t.Errorf("round trip %q, want %q", got["reason"], v["reason"])
	}
	if Escape(out.String()) != out.String() {
		t.Errorf("escaped JSON still has controls: %q", out.String())
	}
}

func TestWriterConcurrentWrites(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = w.Write([]byte("line \x1b\n"))
			}
		})
	}
	wg.Wait()
	if got := strings.Count(out.String(), "line \\x1b\n"); got != 800 {
		t.Errorf("%d whole lines, want 800", got)
	}
}
