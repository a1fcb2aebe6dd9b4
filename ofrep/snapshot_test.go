package ofrep

import (
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// switchAt is when the schedule of new-search goes from 0% to 100%.
var switchAt = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// testSnapshot returns an encoded snapshot with one flag of each kind of decision:
//
//	banner      string  STATIC: blue to everyone
//	checkout    boolean TARGETING_MATCH for account.plan == "pro", DEFAULT (off) otherwise
//	experiment  string  a 50/50 split on userId: TARGETING_KEY_MISSING without one
//	killed      boolean killed: DISABLED
//	limits      json    STATIC {"max":10,"tiers":["a","b"]}
//	new-search  boolean a schedule: 0% before switchAt, 100% from then on
//	page-size   number  STATIC 2.5
func testSnapshot(t testing.TB, revision string) []byte {
	t.Helper()
	const accountPlan, userID = 0, 1 // indexes into Attributes, which are sorted
	all := snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
	flag := func(key string, typ snapshot.ValueType, variants ...snapshot.Variant) snapshot.Flag {
		return snapshot.Flag{
			Key: key, Type: typ, Enabled: true, Variants: variants,
			Seed: snapshot.SeedFor(key), BucketBy: userID, ReleaseRing: snapshot.NoIndex,
			Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: all},
		}
	}
	off, on := snapshot.Variant{Name: "off", JSON: "false"}, snapshot.Variant{Name: "on", JSON: "true"}

	checkout := flag("checkout", snapshot.TypeBoolean, off, on)
	checkout.Rules = []snapshot.Rule{{
		Name: "pro-accounts",
		When: &snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{
			Attribute: accountPlan, Op: snapshot.OpIn, Values: []snapshot.Literal{{Kind: snapshot.LitString, Str: "pro"}}}},
		Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all},
	}}

	experiment := flag("experiment", snapshot.TypeString,
		snapshot.Variant{Name: "control", JSON: `"control"`}, snapshot.Variant{Name: "treatment", JSON: `"treatment"`})
	experiment.Rollout = snapshot.Serve{Kind: snapshot.ServeSplit, Portion: all, Split: []snapshot.Weight{
		{Variant: 0, Upper: snapshot.ThresholdFor(50)}, {Variant: 1, Upper: snapshot.BucketCount}}}

	killed := flag("killed", snapshot.TypeBoolean, off, on)
	killed.Killed = true

	newSearch := flag("new-search", snapshot.TypeBoolean, off, on)
	newSearch.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{
		Kind: snapshot.PortionSchedule, BucketBy: snapshot.NoIndex,
		Steps: []snapshot.Step{{At: switchAt.UnixMilli(), Threshold: snapshot.BucketCount}}}}

	s := &snapshot.Snapshot{
		Environment: "production", Revision: revision, BuildTime: 1764158400,
		Attributes: []string{"account.plan", "userId"},
		Flags: []snapshot.Flag{
			flag("banner", snapshot.TypeString, snapshot.Variant{Name: "blue", JSON: `"blue"`}, snapshot.Variant{Name: "green", JSON: `"green"`}),
			checkout,
			experiment,
			killed,
			flag("limits", snapshot.TypeJSON, snapshot.Variant{Name: "standard", JSON: `{"max":10,"tiers":["a","b"]}`}),
			newSearch,
			flag("page-size", snapshot.TypeNumber, snapshot.Variant{Name: "default", JSON: "2.5"}),
		},
	}
	data := snapshot.Encode(s)
	if _, err := snapshot.Decode(data); err != nil {
		t.Fatalf("test snapshot does not decode: %v", err)
	}
	return data
}

// loadedNative returns a Native source serving testSnapshot and the snapshot's hash.
func loadedNative(t testing.TB) (*Native, string) {
	t.Helper()
	n := NewNative()
	v, err := n.Load(testSnapshot(t, "rev-1"))
	if err != nil {
		t.Fatal(err)
	}
	return n, v.Snapshot
}
