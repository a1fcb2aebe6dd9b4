//go:build !wasip1

package evaluator

import (
	"math"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// The properties below are what makes percentage rollouts trustworthy: a user's answer
// never flickers, raising a percentage never takes the feature away, buckets are uniform,
// and two flags bucket independently.

func percentageSnapshot(t testing.TB, percentages map[string]float64) *snapshot.Snapshot {
	b := &builder{}
	keys := make([]string, 0, len(percentages))
	for k := range percentages {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		f := b.boolFlag(k)
		f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(percentages[k])}
		b.flags = append(b.flags, f)
	}
	return b.build(t)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestPropertyConsistency(t *testing.T) {
	e := New(percentageSnapshot(t, map[string]float64{"f": 50}))
	ctx := NewContext()
	for i := 0; i < 10000; i++ {
		ctx.SetString("userId", "user-"+itoa(i))
		first := e.Evaluate("f", ctx, evalTime).Variant
		for j := 0; j < 3; j++ {
			if got := e.Evaluate("f", NewContext().SetString("userId", "user-"+itoa(i)), evalTime).Variant; got != first {
				t.Fatalf("user-%d flickered: %s then %s", i, first, got)
			}
		}
	}
}

func TestPropertyMonotonicRamp(t *testing.T) {
	ramp := []float64{0, 0.1, 1, 5, 10, 25, 50, 100}
	snaps := make([]*Evaluator, len(ramp))
	for i, p := range ramp {
		snaps[i] = New(percentageSnapshot(t, map[string]float64{"new-checkout-flow": p}))
	}
	const users = 200000
	ctx := NewContext()
	counts := make([]int, len(ramp))
	for u := 0; u < users; u++ {
		ctx.SetString("userId", "user-"+itoa(u))
		had := false
		for i, e := range snaps {
			on := e.Evaluate("new-checkout-flow", ctx, evalTime).Variant == "on"
			if had && !on {
				t.Fatalf("user-%d lost the feature going from %v%% to %v%%", u, ramp[i-1], ramp[i])
			}
			if on {
				counts[i]++
			}
			had = on
		}
	}
	for i, p := range ramp {
		got := float64(counts[i]) / users * 100
		if math.Abs(got-p) > 0.5 {
			t.Errorf("at %v%%: %.3f%% of users have it", p, got)
		}
	}
}

// chiSquareCritical99 is the chi-square critical value for 99 degrees of freedom at
// p = 0.01: a uniform distribution exceeds it only 1% of the time.
const chiSquareCritical99 = 134.642

func TestPropertyUniformBuckets(t *testing.T) {
	const ids, cells = 1_000_000, 100
	seed := snapshot.SeedFor("uniformity")
	var count [cells]int
	for i := 0; i < ids; i++ {
		b := snapshot.Bucket(seed, "user-"+itoa(i))
		count[b*cells/snapshot.BucketCount]++
	}
	expected := float64(ids) / cells
	chi := 0.0
	for _, c := range count {
		d := float64(c) - expected
		chi += d * d / expected
	}
	if chi > chiSquareCritical99 {
		t.Fatalf("chi-square %.1f > %.1f: buckets are not uniform (p < 0.01)", chi, chiSquareCritical99)
	}
	t.Logf("chi-square over %d ids and %d buckets: %.1f (critical %.1f)", ids, cells, chi, chiSquareCritical99)
}

func TestPropertyIndependentFlags(t *testing.T) {
	// With two 50% flags, the four combinations must each hold ~25% of users, and the
	// 2x2 table must pass a chi-square test of independence (1 degree of freedom).
	e := New(percentageSnapshot(t, map[string]float64{"flag-a": 50, "flag-b": 50}))
	const users = 200000
	var table [2][2]float64
	ctx := NewContext()
	for u := 0; u < users; u++ {
		ctx.SetString("userId", "user-"+itoa(u))
		a := e.Evaluate("flag-a", ctx, evalTime).Variant == "on"
		b := e.Evaluate("flag-b", ctx, evalTime).Variant == "on"
		table[b2i(a)][b2i(b)]++
	}
	chi := 0.0
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			row := table[i][0] + table[i][1]
			col := table[0][j] + table[1][j]
			exp := row * col / users
			d := table[i][j] - exp
			chi += d * d / exp
		}
	}
	const critical1 = 6.635 // 1 degree of freedom, p = 0.01
	if chi > critical1 {
		t.Fatalf("flags are correlated: chi-square %.2f > %.2f, table %v", chi, critical1, table)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestPropertySplitWeights(t *testing.T) {
	b := &builder{}
	f := b.boolFlag("checkout-button-color")
	f.Type = snapshot.TypeString
	f.Variants = []snapshot.Variant{{Name: "blue", JSON: `"blue"`}, {Name: "green", JSON: `"green"`}, {Name: "orange", JSON: `"orange"`}}
	weights := []float64{34, 33, 33}
	f.Rollout = snapshot.Serve{Kind: snapshot.ServeSplit, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex},
		Split: []snapshot.Weight{
			{Variant: 0, Upper: snapshot.ThresholdFor(34)},
			{Variant: 1, Upper: snapshot.ThresholdFor(67)},
			{Variant: 2, Upper: snapshot.BucketCount},
		}}
	b.flags = append(b.flags, f)
	e := New(b.build(t))
	const users = 300000
	counts := map[string]int{}
	ctx := NewContext()
	for u := 0; u < users; u++ {
		ctx.SetString("userId", "user-"+itoa(u))
		counts[e.Evaluate("checkout-button-color", ctx, evalTime).Variant]++
	}
	for i, v := range f.Variants {
		got := float64(counts[v.Name]) / users * 100
		if math.Abs(got-weights[i]) > 0.5 {
			t.Errorf("%s: %.2f%%, want %v%% ± 0.5", v.Name, got, weights[i])
		}
	}
}

func TestPropertyBucketByAttribute(t *testing.T) {
	// Bucketing by accountId keeps every user of an account together.
	b := &builder{}
	f := b.boolFlag("b2b")
	f.BucketBy = b.attr("accountId")
	f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(50)}
	b.flags = append(b.flags, f)
	e := New(b.build(t))
	for acct := 0; acct < 200; acct++ {
		var first string
		for u := 0; u < 20; u++ {
			ctx := NewContext().SetString("userId", "u"+itoa(u)).SetString("accountId", "acct-"+itoa(acct))
			v := e.Evaluate("b2b", ctx, evalTime).Variant
			if u == 0 {
				first = v
			} else if v != first {
				t.Fatalf("account %d split across variants", acct)
			}
		}
	}
}
