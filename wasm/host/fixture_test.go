package host

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/edgeflag/edgeflag/internal/wasmbuild"
	"github.com/edgeflag/edgeflag/snapshot"
)

// module builds the evaluator module once per test binary.
func module(t testing.TB) []byte {
	t.Helper()
	b, err := wasmbuild.Module()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cacheDir is the project-local compilation cache (.cache/ is ignored by git).
func cacheDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../.cache/wazero")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func newEvaluator(t testing.TB, cfg Config) *Evaluator {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir(t)
	}
	e, err := New(context.Background(), module(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// Attribute indexes of the fixture (sorted, as the compiler writes them).
const (
	attrCountry = iota
	attrEmail
	attrGroups
	attrPlan
	attrUserID
)

func all() snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
}

func pct(p float64) snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(p), BucketBy: snapshot.NoIndex}
}

func clause(attr int, op snapshot.Op, values ...snapshot.Literal) *snapshot.Condition {
	return &snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{Attribute: attr, Op: op, Values: values}}
}

func str(s string) snapshot.Literal { return snapshot.Literal{Kind: snapshot.LitString, Str: s} }

// fixture returns an encoded snapshot exercising rules, percentages, splits, schedules,
// segments, regexes and a disabled flag. revision tells two fixtures apart.
func fixture(t testing.TB, revision string, checkoutPercent float64) []byte {
	t.Helper()
	boolVariants := []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}}
	s := &snapshot.Snapshot{
		Environment: "test", Revision: revision, BuildTime: 1,
		Attributes: []string{"country", "email", "groups", "plan", "userId"},
		Segments:   []snapshot.Segment{{Key: "eu", When: *clause(attrCountry, snapshot.OpIn, str("DE"), str("FR"), str("NL"))}},
		Flags: []snapshot.Flag{
			{
				Key: "banner-color", Type: snapshot.TypeString, Enabled: true,
				Variants: []snapshot.Variant{{Name: "red", JSON: `"red"`}, {Name: "green", JSON: `"green"`}, {Name: "blue", JSON: `"blue"`}},
				Seed:     snapshot.SeedFor("banner-color"), BucketBy: attrUserID, ReleaseRing: snapshot.NoIndex,
				Rollout: snapshot.Serve{Kind: snapshot.ServeSplit, Portion: all(), Split: []snapshot.Weight{
					{Variant: 0, Upper: 333_333}, {Variant: 1, Upper: 666_666}, {Variant: 2, Upper: snapshot.BucketCount}}},
			},
			{
				Key: "checkout-v2", Type: snapshot.TypeBoolean, Enabled: true, Variants: boolVariants,
				Seed: snapshot.SeedFor("checkout-v2"), BucketBy: attrUserID, ReleaseRing: snapshot.NoIndex,
				Rules: []snapshot.Rule{
					{Name: "staff", When: clause(attrEmail, snapshot.OpMatches, str(`^[a-z.]+@company\.com$`)),
						Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()}},
					{Name: "europe", When: &snapshot.Condition{Kind: snapshot.CondSegment, Segment: 0},
						Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(50)}},
				},
				Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(checkoutPercent)},
			},
			{
				Key: "old-header", Type: snapshot.TypeBoolean, Enabled: false, Variants: boolVariants,
				Seed: snapshot.SeedFor("old-header"), BucketBy: attrUserID, ReleaseRing: snapshot.NoIndex,
				Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()},
			},
			{
				Key: "page-size", Type: snapshot.TypeNumber, Enabled: true,
				Variants: []snapshot.Variant{{Name: "small", JSON: "20"}, {Name: "large", JSON: "50"}},
				Seed:     snapshot.SeedFor("page-size"), BucketBy: attrUserID, ReleaseRing: snapshot.NoIndex,
				Rules: []snapshot.Rule{{Name: "beta", When: clause(attrGroups, snapshot.OpIn, str("beta")),
					Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()}}},
				Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: all()},
			},
			{
				Key: "search-v3", Type: snapshot.TypeBoolean, Enabled: true, Variants: boolVariants,
				Seed: snapshot.SeedFor("search-v3"), BucketBy: attrUserID, ReleaseRing: snapshot.NoIndex,
				Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{
					Kind: snapshot.PortionSchedule, BucketBy: snapshot.NoIndex, Steps: []snapshot.Step{
						{At: 1_790_000_000_000, Threshold: 10_000}, {At: 1_795_000_000_000, Threshold: 500_000}}}},
			},
		},
	}
	data := snapshot.Encode(s)
	if _, err := snapshot.Decode(data); err != nil {
		t.Fatalf("fixture does not decode: %v", err)
	}
	return data
}
