package publish_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/snapview"
)

// TestStatusRingPercentageAgreesWithDiff publishes the example project and checks that
// GET /flags reports, for every flag released through rings, the ring percentage that
// edgeflag diff reports (snapview's ReleaseReach): the canary's "beta users or 5%" is 5.
func TestStatusRingPercentageAgreesWithDiff(t *testing.T) {
	p, err := compiler.Load(filepath.Join("..", "flags"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Build("production", compiler.Options{Revision: "r1", BuildTime: 1764547200})
	if err != nil {
		t.Fatal(err)
	}
	pub := publishers(t)["dir"]
	mustPublish(t, pub, snapshot.Encode(s))
	// Before every schedule of the example project, so that nominal and in-force agree.
	st, err := pub.Status(context.Background(), "production", time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	view := snapview.Of(s)
	checked := 0
	for _, f := range st.Flags {
		if f.Ring == "" {
			continue
		}
		want := view.Flag(f.Key).ReleaseReach()
		switch {
		case want == 0 && f.RingPercentage != nil:
			t.Errorf("%s: ringPercentage %v, want none (diff reports no percentage)", f.Key, *f.RingPercentage)
		case want != 0 && (f.RingPercentage == nil || *f.RingPercentage != want):
			t.Errorf("%s: ringPercentage %v, want %v as diff reports", f.Key, f.RingPercentage, want)
		}
		if f.Key == "new-search-algorithm" {
			if f.Ring != "canary" || f.RingPercentage == nil || *f.RingPercentage != 5 {
				t.Errorf("new-search-algorithm: ring %s %v, want canary 5", f.Ring, f.RingPercentage)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no flag of the example project is released through rings")
	}
}

func TestStatusRingPercentage(t *testing.T) {
	pct := func(p float64) snapshot.Portion {
		return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(p), BucketBy: snapshot.NoIndex}
	}
	all := snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
	segment := snapshot.Condition{Kind: snapshot.CondSegment, Segment: 0}
	canaryWhen := &snapshot.Condition{Kind: snapshot.CondAny, Children: []snapshot.Condition{
		segment, {Kind: snapshot.CondPercentage, Portion: pct(5)},
	}}
	ladder := []snapshot.Ring{
		{Name: "developers", When: &segment, Portion: all},
		{Name: "canary", When: canaryWhen, Portion: all},
		{Name: "early-majority", Portion: pct(25)},
		{Name: "everyone", Portion: all},
	}
	tests := []struct {
		name    string
		release int
		want    float64 // -1: absent
	}{
		{"segment ring only", 0, -1},
		{"condition with a percentage", 1, 5},
		{"percentage ring", 2, 25},
		{"everyone", 3, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := buildRingSnapshot(ladder, tt.release)
			pub := publishers(t)["dir"]
			mustPublish(t, pub, snapshot.Encode(base))
			st, err := pub.Status(context.Background(), "production", clock)
			if err != nil {
				t.Fatal(err)
			}
			got := st.Flags[0].RingPercentage
			if tt.want < 0 {
				if got != nil {
					t.Errorf("ringPercentage = %v, want absent", *got)
				}
				return
			}
			if got == nil || *got != tt.want {
				t.Errorf("ringPercentage = %v, want %v", got, tt.want)
			}
		})
	}
}

// buildRingSnapshot is a production snapshot with one boolean flag released at ring
// release of the ladder, and the segment the ladder's conditions name.
func buildRingSnapshot(ladder []snapshot.Ring, release int) *snapshot.Snapshot {
	s := publishtest.Build("production", "r1", 1, "search")
	s.Segments = []snapshot.Segment{{Key: "developers", When: snapshot.Condition{
		Kind: snapshot.CondClause, Clause: snapshot.Clause{Attribute: 0, Op: snapshot.OpPresent},
	}}}
	f := &s.Flags[0]
	f.Rings = ladder
	f.ReleaseRing = release
	f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}}
	return s
}
