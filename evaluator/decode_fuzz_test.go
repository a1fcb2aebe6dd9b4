//go:build !wasip1

package evaluator

import (
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
