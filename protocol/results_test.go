package protocol

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
)

// TestResultsRoundTrip writes frames with a ResultsBuilder and reads them back.
func TestResultsRoundTrip(t *testing.T) {
	type entry struct {
		key, variant string
		ok           bool
		json         string
	}
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		name    string
		prefix  string
		entries []entry
	}{
		{"none", "", nil},
		{"one", "", []entry{{"a", "on", true, `{"key":"a"}`}}},
		{"error result", "", []entry{{"b", "", false, `{"key":"b","reason":"ERROR"}`}}},
		{"several, after other bytes", "head", []entry{
			{"a", "on", true, `{"key":"a"}`},
			{long, "off", true, `{"key":"` + long + `"}`},
			{"", "", false, `{}`},
		}},
	} {
		var b ResultsBuilder
		b.Begin([]byte(tt.prefix))
		var joined []string
		for _, e := range tt.entries {
			b.Add(append(b.Next(), e.json...), e.key, e.variant, e.ok)
			joined = append(joined, e.json)
		}
		frame := b.Finish()
		if !strings.HasPrefix(string(frame), tt.prefix) {
			t.Fatalf("%s: prefix lost", tt.name)
		}
		res, ok := ReadResults(frame[len(tt.prefix):])
		if !ok || res.Refused || string(res.JSON) != strings.Join(joined, ",") {
			t.Fatalf("%s: ok %v refused %v JSON %s", tt.name, ok, res.Refused, res.JSON)
		}
		for i, e := range tt.entries {
			r, ok := res.Next()
			if !ok || r.Key != e.key || r.Variant != e.variant || r.OK != e.ok || string(r.JSON) != e.json {
				t.Fatalf("%s: result %d: %+v %v, want %+v", tt.name, i, r, ok, e)
			}
		}
		if _, more := res.Next(); more || !res.Valid() {
			t.Fatalf("%s: more results, or invalid", tt.name)
		}
	}
}

// TestReadResultsMalformed: bytes that are not a frame, or whose index does not fit its
// JSON, are refused rather than read past.
func TestReadResultsMalformed(t *testing.T) {
	var b ResultsBuilder
	b.Begin(nil)
	b.Add(append(b.Next(), `{"key":"a"}`...), "a", "on", true)
	good := b.Finish()
	for _, tt := range []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"short header", []byte{0, 1}},
		{"unknown tag", append([]byte{7}, good[1:]...)},
		{"JSON longer than the frame", []byte{0, 9, 0, 0, 0, '{', '}'}},
	} {
		if _, ok := ReadResults(tt.frame); ok {
			t.Errorf("%s: read", tt.name)
		}
	}
	for cut := len(good) - 1; cut > len(good)-6; cut-- {
		res, ok := ReadResults(good[:cut])
		if !ok {
			continue
		}
		if _, ok := res.Next(); ok {
			t.Errorf("cut at %d: a result read from a truncated index", cut)
		}
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] = 99 // the result's JSON length, past the JSON
	res, _ := ReadResults(bad)
	if _, ok := res.Next(); ok || res.Valid() {
		t.Error("a result longer than the JSON was read")
	}
	refused, ok := ReadResults(evaluator.AppendErrorJSON(nil, evaluator.ErrInvalidContext, "too big"))
	if !ok || !refused.Refused {
		t.Errorf("error object: %+v %v", refused, ok)
	}
	if _, more := refused.Next(); more {
		t.Error("a refusal has results")
	}
}

func ExampleReadResults() {
	// What edgeflag_evaluate_all answers, built here as the module builds it.
	var b ResultsBuilder
	b.Begin(nil)
	b.Add(append(b.Next(), `{"key":"dark-mode","value":true,"variant":"on","reason":"STATIC"}`...), "dark-mode", "on", true)
	b.Add(append(b.Next(), `{"key":"gone","reason":"ERROR","errorCode":"FLAG_NOT_FOUND"}`...), "gone", "", false)
	res, _ := ReadResults(b.Finish())
	for r, ok := res.Next(); ok; r, ok = res.Next() {
		if r.OK {
			fmt.Printf("x-flag-%s: %s\n", r.Key, r.Variant)
		}
	}
	fmt.Printf("{\"flags\":[%s]}\n", res.JSON)
	// Output:
	// x-flag-dark-mode: on
	// {"flags":[{"key":"dark-mode","value":true,"variant":"on","reason":"STATIC"},{"key":"gone","reason":"ERROR","errorCode":"FLAG_NOT_FOUND"}]}
}
