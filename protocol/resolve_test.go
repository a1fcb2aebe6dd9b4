package protocol

import (
	"errors"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// resolveSnapshot has three attributes and two flags: static reads nothing, split buckets by
// userId (attribute 2).
func resolveSnapshot() *snapshot.Snapshot {
	variants := []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}}
	return &snapshot.Snapshot{
		Attributes: []string{"country", "groups", "userId"},
		Flags: []snapshot.Flag{
			{Key: "split", Type: snapshot.TypeBoolean, Variants: variants, Enabled: true, BucketBy: 2, ReleaseRing: snapshot.NoIndex,
				Rollout: snapshot.Serve{Kind: snapshot.ServeSplit, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}, Split: []snapshot.Weight{{Variant: 0, Upper: 500_000}, {Variant: 1, Upper: snapshot.BucketCount}}}},
			{Key: "static", Type: snapshot.TypeBoolean, Variants: variants, Enabled: true, BucketBy: 2, ReleaseRing: snapshot.NoIndex,
				Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}}},
		},
	}
}

func TestDecodeIndexed(t *testing.T) {
	s := resolveSnapshot()
	indexed := func(attrs ...[]byte) []byte {
		b := []byte{Marker, byte(len(attrs))}
		for _, a := range attrs {
			b = append(b, a...)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want map[string]string // attribute → describe(value); nil: an error of code
		code evaluator.ErrorCode
	}{
		{"string and list", indexed([]byte{2, TagString, 2, 'u', '1'}, []byte{1, TagList, 2, TagString, 1, 'a', TagTrue}),
			map[string]string{"userId": "s:u1", "groups": "[s:a,true,]", "country": "null"}, ""},
		{"null left unset", indexed([]byte{0, TagNull}), map[string]string{"country": "null"}, ""},
		{"later replaces earlier", indexed([]byte{0, TagString, 1, 'A'}, []byte{0, TagString, 1, 'B'}), map[string]string{"country": "s:B"}, ""},
		{"strings and bools", indexed([]byte{2, TagString, 2, 'u', '1'}, []byte{0, TagFalse}, []byte{1, TagTrue}),
			map[string]string{"userId": "s:u1", "country": "false", "groups": "true"}, ""},
		{"a later bool replaces a string", indexed([]byte{0, TagString, 0}, []byte{0, TagTrue}), map[string]string{"country": "true"}, ""},
		{"a list after strings", indexed([]byte{2, TagString, 0}, []byte{1, TagList, 1, TagFalse}),
			map[string]string{"userId": "s:", "groups": "[false,]"}, ""},
		{"a string of two length bytes", indexed(append([]byte{2, TagString, 0x80, 1}, make([]byte, 128)...)),
			map[string]string{"userId": "s:" + string(make([]byte, 128))}, ""},
		{"a number", indexed([]byte{0, TagNumber, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}), map[string]string{"country": "n:1000"}, ""},
		{"trailing data", append(indexed([]byte{0, TagTrue}), 0), nil, evaluator.ErrParse},
		{"fewer attributes than counted", []byte{Marker, 2, 0, TagTrue}, nil, evaluator.ErrParse},
		{"string past the end", indexed([]byte{2, TagString, 3, 'u'}), nil, evaluator.ErrParse},
		{"index out of range", indexed([]byte{3, TagTrue}), nil, evaluator.ErrParse},
		{"index of two bytes", indexed([]byte{0x80, 0, TagTrue}), map[string]string{"country": "true"}, ""},
		{"index of two bytes out of range", indexed([]byte{0x83, 1, TagTrue}), nil, evaluator.ErrParse},
		{"no marker", []byte{1, 0, TagTrue}, nil, evaluator.ErrParse},
		{"truncated", indexed([]byte{2, TagString, 5, 'u'}), nil, evaluator.ErrParse},
		{"nested list", indexed([]byte{1, TagList, 1, TagList, 0}), nil, evaluator.ErrInvalidContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d ContextDecoder
			ctx := evaluator.NewContext().SetString("stale", "x")
			err := d.DecodeIndexed(tc.data, s, ctx)
			if tc.want == nil {
				var ce *evaluator.ContextError
				if !errors.As(err, &ce) || ce.Code != tc.code {
					t.Fatalf("error %v, want code %s", err, tc.code)
				}
				if ctx.Len() != 0 {
					t.Errorf("a refused context keeps %v", ctx.Names())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if got := describe(ctx.Get(name)); got != want {
					t.Errorf("%s = %s, want %s", name, got, want)
				}
			}
			if ctx.Get("stale").Kind() != evaluator.Null {
				t.Error("the context kept an attribute from before")
			}
		})
	}
}

// TestResolveFrames checks the flags frame of a snapshot and that an indexed context gives
// the evaluation of the whole one.
func TestResolveFrames(t *testing.T) {
	s := resolveSnapshot()
	frame := AppendFlagsFrame(nil, s)
	r := reader{b: frame}
	var got []string
	for n := r.uvarint(); n > 0; n-- {
		got = append(got, r.str())
	}
	for n := r.uvarint(); n > 0; n-- {
		key := r.str()
		bits := r.b[r.off]
		r.off++
		variants := r.uvarint()
		for range 2 * variants {
			r.str()
		}
		var reads []uint64
		for k := r.uvarint(); k > 0; k-- {
			reads = append(reads, r.uvarint())
		}
		got = append(got, key, string('0'+bits), string(rune('0'+len(reads))))
		if key == "split" && (len(reads) != 1 || reads[0] != 2) {
			t.Errorf("split reads %v, want [2]", reads)
		}
	}
	if r.err != nil || r.off != len(frame) {
		t.Fatalf("frame %x: %v at %d", frame, r.err, r.off)
	}
	if want := "country groups userId split 0 1 static 0 0"; join(got) != want {
		t.Errorf("frame holds %q, want %q", join(got), want)
	}

	e := evaluator.New(s)
	var d ContextDecoder
	ctx := evaluator.NewContext()
	for _, user := range []string{"a", "b", "c", "d", "e", "f"} {
		data := []byte{Marker, 1, 2, TagString, 1, user[0]}
		if err := d.DecodeIndexed(data, s, ctx); err != nil {
			t.Fatal(err)
		}
		got := e.EvaluateAt("split", ctx, 0)
		want := e.EvaluateAt("split", evaluator.NewContext().SetString("userId", user).SetString("country", "DE"), 0)
		if got.Variant != want.Variant || got.Reason != want.Reason || got.Bucket != want.Bucket {
			t.Errorf("user %s: indexed %s %s, whole %s %s", user, got.Variant, got.Reason, want.Variant, want.Reason)
		}
		if c := Resolved(1, got.Reason); ReasonCodes[c&7] != got.Reason || c>>3 != 1 {
			t.Errorf("Resolved(1, %s) = %d", got.Reason, c)
		}
	}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
