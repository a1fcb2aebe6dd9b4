package publishtest_test

import (
	"bytes"
	"testing"

	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
)

func TestSnapshotDecodesAndRoundTrips(t *testing.T) {
	data := publishtest.Snapshot("production", "r1", 100, "b-flag", "a-flag", "c-ring")
	s, err := snapshot.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Flags) != 3 || s.Flags[0].Key != "a-flag" || s.Flags[2].Rings[s.Flags[2].ReleaseRing].Name != "canary" {
		t.Fatalf("decoded flags: %+v", s.Flags)
	}
	// Decoding and encoding again gives the same bytes: Merge relies on it.
	if again := snapshot.Encode(s); !bytes.Equal(again, data) {
		t.Error("Encode(Decode(x)) != x")
	}
}
