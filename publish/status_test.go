package publish_test

import (
	"context"
	"errors"
	"testing"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
)

func TestStatus(t *testing.T) {
	ctx := context.Background()
	p := publishers(t)["dir"]
	base := publishtest.Build("production", "r7", 1, "checkout", "legacy", "search-ring")
	base.Flags[1].Killed = true // legacy: killed in its source
	base.Flags[1].Enabled = false
	mustPublish(t, p, snapshot.Encode(base))
	if _, err := p.Kill(ctx, "production", "checkout", "errors", "oncall"); err != nil {
		t.Fatal(err)
	}
	st, err := p.Status(ctx, "production", clock)
	if err != nil {
		t.Fatal(err)
	}
	ptr, _ := served(t, p, "production")
	if st.Snapshot != ptr.Snapshot || st.Base != ptr.Base || st.Revision != "r7" || st.KillStateVersion != 1 || len(st.Flags) != 3 {
		t.Fatalf("status = %+v", st)
	}
	tests := []struct {
		key                           string
		enabled, killed, inSource     bool
		killReason, ring              string
		variant, ringVariant          string
		percentage, ringPercentage    float64
		hasPercentage, hasRingPercent bool
	}{
		{key: "checkout", enabled: true, killed: true, killReason: "errors", variant: "on", percentage: 25, hasPercentage: true},
		{key: "legacy", killed: true, inSource: true, variant: "on", percentage: 25, hasPercentage: true},
		{key: "search-ring", enabled: true, ring: "canary", ringVariant: "on", ringPercentage: 5, hasRingPercent: true, variant: "off", percentage: 100, hasPercentage: true},
	}
	for i, tt := range tests {
		f := st.Flags[i]
		reason := ""
		if f.Kill != nil {
			reason = f.Kill.Reason
		}
		if f.Key != tt.key || f.Enabled != tt.enabled || f.Killed != tt.killed || f.KilledInSource != tt.inSource ||
			reason != tt.killReason || f.Ring != tt.ring || f.Variant != tt.variant || f.RingVariant != tt.ringVariant ||
			(f.Percentage != nil) != tt.hasPercentage || (f.Percentage != nil && *f.Percentage != tt.percentage) ||
			(f.RingPercentage != nil) != tt.hasRingPercent || (f.RingPercentage != nil && *f.RingPercentage != tt.ringPercentage) {
			t.Errorf("flag %d = %+v, want %+v", i, f, tt)
		}
	}
	if _, err := p.Status(ctx, "staging", clock); !errors.Is(err, publish.ErrUnknownEnvironment) {
		t.Errorf("status of an unpublished environment: err = %v", err)
	}
}
