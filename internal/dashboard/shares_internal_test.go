package dashboard

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
)

// BenchmarkCountShares1000 counts the list's "who gets what" of 1,000 flags (every
// tenth with a ring ladder) over ListSimulatedUsers users: what a large project's list
// does in the background after each new snapshot.
func BenchmarkCountShares1000(b *testing.B) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("flag-%04d", i)
		if i%10 == 0 {
			keys[i] += "-ring"
		}
	}
	v := &envView{Status: &publish.Status{Snapshot: "bench"}, Snapshot: publishtest.Build("production", "r", 1, keys...)}
	now := time.Now()
	for b.Loop() {
		if set := countShares(v, now); len(set.Shares) != len(keys) {
			b.Fatalf("%d counts", len(set.Shares))
		}
	}
}
