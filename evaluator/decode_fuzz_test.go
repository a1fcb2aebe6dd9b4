//go:build !wasip1

package evaluator

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// FuzzDecodeAndEvaluate feeds arbitrary bytes to snapshot.Decode; whatever decodes must
// evaluate without panicking. Seeds are valid snapshots, so mutations explore the format.
// The seed corpus lives in testdata/fuzz/FuzzDecodeAndEvaluate.
func FuzzDecodeAndEvaluate(f *testing.F) {
	f.Add(snapshot.Encode(rolloutFixture(f)))
	f.Add(snapshot.Encode(percentageSnapshot(f, map[string]float64{"a": 5})))
	b := &builder{}
	re := b.boolFlag("re")
	re.Rules = []snapshot.Rule{{Name: "staff", When: b.clause("email", snapshot.OpMatches, str(`(?i)^[a-z.]+@company\.com$`), str(`\bbot\b`)),
		Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()}}}
	b.flags = []snapshot.Flag{re}
	f.Add(snapshot.Encode(b.build(f)))
	inj := &builder{}
	bad := inj.boolFlag("injected")
	bad.Variants[0].JSON = `false,"injected":"yes"`
	bad.Variants[1].JSON = `true,"injected":"yes"`
	inj.flags = []snapshot.Flag{bad}
	f.Add(encodeUnchecked(inj))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeUnverified(data)
		if err != nil {
			return
		}
		e := New(s)
		ctx := NewContext().SetString("userId", "u1").SetString("email", "a.b@Company.com bot").SetBool("betaProgram", true)
		e.EvaluateAll(ctx, time.Unix(1_800_000_000, 0), nil)
		for _, f := range s.Flags {
			_, _ = e.Explain(f.Key, ctx, time.Unix(0, 0))
		}
		// Whatever decodes gives valid JSON out, with no field but the evaluator's: the
		// module's responses, one flag and all.
		for _, stale := range []bool{false, true} {
			out := e.AppendAllJSON(nil, ctx, 1_800_000_000_000, stale)
			var all struct{ Flags []json.RawMessage }
			if err := json.Unmarshal(out, &all); err != nil {
				t.Fatalf("AppendAllJSON gives invalid JSON: %v: %q", err, out)
			}
			for _, r := range all.Flags {
				checkResultJSON(t, r)
			}
			for _, f := range s.Flags {
				checkResultJSON(t, e.AppendResultJSON(nil, f.Key, ctx, 1_800_000_000_000, stale))
			}
		}
	})
}

// decodeUnverified re-hashes the payload before decoding so that the fuzzer explores the
// decoder rather than the checksum.
func decodeUnverified(data []byte) (*snapshot.Snapshot, error) {
	if len(data) >= 40 {
		fixed := append([]byte(nil), data...)
		sum := sha256Sum(fixed[40:])
		copy(fixed[8:40], sum[:])
		data = fixed
	}
	return snapshot.Decode(data)
}

// encodeUnchecked encodes the builder's snapshot without the Decode round trip that build
// does, so that seeds may hold what Decode refuses.
func encodeUnchecked(b *builder) []byte {
	return snapshot.Encode(&snapshot.Snapshot{Environment: "production", Attributes: b.attrs, Flags: b.flags})
}

// checkResultJSON fails t unless out is one JSON object of the fields a result has.
func checkResultJSON(t *testing.T, out []byte) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatalf("a result that is not a JSON object: %v: %q", err, out)
	}
	for name := range fields {
		switch name {
		case "key", "value", "variant", "reason", "errorCode", "errorMessage", "decision":
		default:
			t.Fatalf("a result with field %q: %q", name, out)
		}
	}
}
