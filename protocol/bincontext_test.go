package protocol

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
)

func TestRoundTrip(t *testing.T) {
	in := evaluator.NewContext().
		SetString("userId", "user-42").
		SetString("name", "Zoë 日本").
		SetString("empty", "").
		SetNumber("age", 41.5).
		SetNumber("negative", -3).
		SetBool("beta", true).
		SetBool("staff", false).
		Set("groups", evaluator.List(evaluator.String("a"), evaluator.Number(2), evaluator.Bool(true))).
		Set("none", evaluator.Strings())
	data := AppendContext(nil, in)
	var d ContextDecoder
	out := evaluator.NewContext()
	if err := d.Decode(data, out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.Names(), in.Names(); len(got) != len(want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	for _, name := range in.Names() {
		if got, want := describe(out.Get(name)), describe(in.Get(name)); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	// Encoding the decoded context gives the same bytes.
	if again := AppendContext(nil, out); !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs:\n%x\n%x", again, data)
	}
}

func describe(v evaluator.Value) string {
	switch v.Kind() {
	case evaluator.StringKind:
		return "s:" + v.Str()
	case evaluator.NumberKind:
		return "n:" + strconv.Itoa(int(v.Num()*1000))
	case evaluator.BoolKind:
		if v.Truth() {
			return "true"
		}
		return "false"
	case evaluator.ListKind:
		s := "["
		for _, x := range v.Items() {
			s += describe(x) + ","
		}
		return s + "]"
	}
	return "null"
}

func TestDecodeNullAndDuplicates(t *testing.T) {
	data := []byte{Marker, 3,
		1, 'a', TagString, 1, 'x',
		1, 'b', TagNull,
		1, 'a', TagTrue}
	ctx := evaluator.NewContext()
	var d ContextDecoder
	if err := d.Decode(data, ctx); err != nil {
		t.Fatal(err)
	}
	if v := ctx.Get("a"); v.Kind() != evaluator.BoolKind || !v.Truth() {
		t.Errorf("a later attribute does not replace an earlier one: %v", describe(v))
	}
	if v := ctx.Get("b"); v.Kind() != evaluator.Null {
		t.Errorf("a null attribute is set: %v", describe(v))
	}
}

func TestDecodeErrors(t *testing.T) {
	nan := appendUint64([]byte{Marker, 1, 1, 'n', TagNumber}, math.Float64bits(math.NaN()))
	tests := []struct {
		name string
		data []byte
		code evaluator.ErrorCode
	}{
		{"empty", nil, evaluator.ErrParse},
		{"json", []byte(`{"a":1}`), evaluator.ErrParse},
		{"no count", []byte{Marker}, evaluator.ErrParse},
		{"truncated name", []byte{Marker, 1, 5, 'a'}, evaluator.ErrParse},
		{"no value", []byte{Marker, 1, 1, 'a'}, evaluator.ErrParse},
		{"truncated string", []byte{Marker, 1, 1, 'a', TagString, 9, 'x'}, evaluator.ErrParse},
		{"truncated number", []byte{Marker, 1, 1, 'a', TagNumber, 0, 0}, evaluator.ErrParse},
		{"unknown tag", []byte{Marker, 1, 1, 'a', 77}, evaluator.ErrParse},
		{"trailing bytes", []byte{Marker, 0, 0}, evaluator.ErrParse},
		{"varint overflow", []byte{Marker, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, evaluator.ErrParse},
		{"count beyond data", []byte{Marker, 3, 1, 'a', TagTrue}, evaluator.ErrParse},
		{"empty name", []byte{Marker, 1, 0, TagTrue}, evaluator.ErrInvalidContext},
		{"nested list", []byte{Marker, 1, 1, 'a', TagList, 1, TagList, 0}, evaluator.ErrInvalidContext},
		{"not finite", nan, evaluator.ErrInvalidContext},
		{"too many attributes", append([]byte{Marker}, appendUvarint(nil, MaxAttributes+1)...), evaluator.ErrInvalidContext},
		{"too many items", append([]byte{Marker, 1, 1, 'a', TagList}, appendUvarint(nil, MaxListItems+1)...), evaluator.ErrInvalidContext},
		{"too large", append([]byte{Marker}, make([]byte, MaxContextSize)...), evaluator.ErrInvalidContext},
	}
	var d ContextDecoder
	for _, tt := range tests {
		ctx := evaluator.NewContext().SetString("left", "over")
		err := d.Decode(tt.data, ctx)
		var ce *evaluator.ContextError
		if !errors.As(err, &ce) || ce.Code != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
			continue
		}
		if len(ctx.Names()) != 0 {
			t.Errorf("%s: the context was not left empty: %v", tt.name, ctx.Names())
		}
	}
}

// TestDecodeErrorsNameTheLimits keeps the messages, which spell the limits out, in step
// with the constants.
func TestDecodeErrorsNameTheLimits(t *testing.T) {
	tests := []struct {
		data  []byte
		limit int
	}{
		{append([]byte{Marker}, appendUvarint(nil, MaxAttributes+1)...), MaxAttributes},
		{append([]byte{Marker, 1, 1, 'a', TagList}, appendUvarint(nil, MaxListItems+1)...), MaxListItems},
		{append([]byte{Marker}, make([]byte, MaxContextSize)...), MaxContextSize},
	}
	var d ContextDecoder
	for _, tt := range tests {
		err := d.Decode(tt.data, evaluator.NewContext())
		if err == nil || !strings.Contains(err.Error(), " "+strconv.Itoa(tt.limit)+" ") {
			t.Errorf("error %v does not name the limit %d", err, tt.limit)
		}
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	data := AppendContext(nil, evaluator.NewContext().SetString("userId", "u1").SetString("country", "DE").
		SetNumber("age", 3).Set("groups", evaluator.Strings("a", "b")))
	var d ContextDecoder
	ctx := evaluator.NewContext()
	d.Decode(data, ctx) // grow the buffers once
	if n := testing.AllocsPerRun(100, func() { d.Decode(data, ctx) }); n != 0 {
		t.Fatalf("%v allocations per Decode", n)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(AppendContext(nil, evaluator.NewContext().SetString("userId", "u").Set("g", evaluator.Strings("x"))))
	f.Add([]byte{Marker, 1, 1, 'a', TagList, 2, TagTrue, TagNumber, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d ContextDecoder
		ctx := evaluator.NewContext()
		if err := d.Decode(data, ctx); err != nil {
			return
		}
		// What decodes re-encodes to bytes that decode to the same context.
		again := AppendContext(nil, ctx)
		ctx2 := evaluator.NewContext()
		if err := d.Decode(again, ctx2); err != nil {
			t.Fatalf("re-encoded context does not decode: %v", err)
		}
		if !bytes.Equal(AppendContext(nil, ctx2), again) {
			t.Fatal("re-encoding is not stable")
		}
	})
}

// Attributes set to Null are left out of the encoding, so that they count against no
// limit: a context of MaxAttributes attributes and a null one is accepted.
func TestAppendContextLeavesOutNulls(t *testing.T) {
	ctx := evaluator.NewContext()
	for i := range MaxAttributes {
		ctx.SetNumber("a"+strconv.Itoa(i), 1)
	}
	ctx.Set("targetingKey", evaluator.Value{})
	var d ContextDecoder
	got := evaluator.NewContext()
	if err := d.Decode(AppendContext(nil, ctx), got); err != nil {
		t.Fatal(err)
	}
	if got.Len() != MaxAttributes || len(got.Names()) != MaxAttributes {
		t.Errorf("decoded %d attributes, want %d", len(got.Names()), MaxAttributes)
	}
}
