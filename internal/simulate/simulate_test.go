package simulate

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/ctxattr"
	"github.com/edgeflag/edgeflag/snapshot"
)

var (
	all = snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
	t0  = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
)

func pct(p float64) snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(p), BucketBy: snapshot.NoIndex}
}

// sample has two flags bucketed by userId (attributes: 0 email, 1 userId):
// rings-flag released at ring canary of internal (email @company.com) → canary 5% →
// everyone, and cdn rolling out on a schedule 1% → 10% → 100%.
func sample(tb testing.TB) *snapshot.Snapshot {
	tb.Helper()
	boolFlag := func(key string) snapshot.Flag {
		return snapshot.Flag{Key: key, Type: snapshot.TypeBoolean, Enabled: true,
			Variants: []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
			Seed:     snapshot.SeedFor(key), BucketBy: 1, ReleaseRing: snapshot.NoIndex,
			Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Portion: all}}
	}
	cdn := boolFlag("cdn")
	cdn.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{
		Kind: snapshot.PortionSchedule, BucketBy: snapshot.NoIndex, Steps: []snapshot.Step{
			{At: t0.Add(15 * time.Minute).UnixMilli(), Threshold: snapshot.ThresholdFor(1)},
			{At: t0.Add(time.Hour).UnixMilli(), Threshold: snapshot.ThresholdFor(10)},
			{At: t0.Add(8 * time.Hour).UnixMilli(), Threshold: snapshot.BucketCount},
		}}}
	rings := boolFlag("rings-flag")
	internal := &snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{Attribute: 0, Op: snapshot.OpEndsWith,
		Values: []snapshot.Literal{{Kind: snapshot.LitString, Str: "@company.com"}}}}
	rings.Rings = []snapshot.Ring{
		{Name: "internal", When: internal, Portion: all},
		{Name: "canary", Portion: pct(5)},
		{Name: "everyone", Portion: pct(100)},
	}
	rings.ReleaseRing, rings.ReleaseVar = 1, 1
	s := &snapshot.Snapshot{Environment: "production", Attributes: []string{"email", "userId"}, Flags: []snapshot.Flag{cdn, rings}}
	// Round-trip so the clause is prepared as the evaluator expects.
	d, err := snapshot.Decode(snapshot.Encode(s))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func near(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance }

func TestRunCountsVariantsDecisionsAndRings(t *testing.T) {
	s := sample(t)
	rep, err := Run(s, "rings-flag", &Synthetic{N: 40_000}, Options{At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != 40_000 || rep.BucketBy != "userId" || len(rep.Variants) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	on := rep.Variants[1]
	if on.Name != "on" || !near(on.Percent, 5, 0.5) {
		t.Errorf("on: %+v, want about 5%%", on)
	}
	if rep.Variants[0].Users+on.Users != rep.Users {
		t.Errorf("variant counts do not add up: %+v", rep.Variants)
	}
	if len(rep.Rings) != 3 || rep.Rings[0].Users != 0 || !rep.Rings[1].Released || rep.Rings[2].Released ||
		rep.Rings[2].Cumulative != 40_000 || !near(rep.Rings[1].Percent, 5, 0.5) {
		t.Errorf("rings: %+v", rep.Rings)
	}
	if rep.Decisions[0].Name != "default" || rep.Decisions[1].Name != "ring canary" {
		t.Errorf("decisions: %+v", rep.Decisions)
	}
	// Everyone at the company is in the internal ring.
	staff := &Synthetic{N: 1000, Base: []ctxattr.Attr{{Name: "email", Value: evaluator.String("x@company.com")}}}
	rep, err = Run(s, "rings-flag", staff, Options{At: t0})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Variants[1].Users != 1000 || rep.Rings[0].Users != 1000 {
		t.Errorf("staff: %+v %+v", rep.Variants, rep.Rings)
	}
}

func TestRunTimeline(t *testing.T) {
	s := sample(t)
	timelines := Schedules(&s.Flags[s.FlagIndex("cdn")])
	if len(timelines) != 1 || timelines[0].Where != "rollout" || len(timelines[0].Points) != 3 {
		t.Fatalf("Schedules: %+v", timelines)
	}
	var mu sync.Mutex
	var calls []int64
	var total int64
	rep, err := Run(s, "cdn", &Synthetic{N: 20_000}, Options{At: t0.Add(2 * time.Hour), Timelines: timelines, Workers: 2,
		Progress: func(done, tot int64) {
			mu.Lock()
			calls = append(calls, done)
			total = tot
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	pts := rep.Timelines[0].Points
	wantPct := []float64{1, 10, 100}
	wantOffset := []time.Duration{0, 45 * time.Minute, 7*time.Hour + 45*time.Minute}
	for i, p := range pts {
		if p.Percentage != wantPct[i] || p.PerMillion != int(wantPct[i]*10_000) || !near(p.Percent, wantPct[i], 1) || p.Offset != wantOffset[i] {
			t.Errorf("point %d: %+v", i, p)
		}
	}
	// The bucket never depends on the percentage: later steps only add users.
	if !(pts[0].Users <= pts[1].Users && pts[1].Users <= pts[2].Users) || pts[2].Users != 20_000 {
		t.Errorf("timeline not monotonic: %+v", pts)
	}
	if total != 4*20_000 || len(calls) == 0 || calls[len(calls)-1] != total {
		t.Errorf("progress: total %d, last %v", total, calls[len(calls)-1:])
	}
	for i := 1; i < len(calls); i++ {
		if calls[i] < calls[i-1] {
			t.Errorf("progress went backwards: %v", calls)
			break
		}
	}
}

func TestStages(t *testing.T) {
	s := sample(t)
	f := &s.Flags[s.FlagIndex("cdn")]
	tl, err := Stages(f, []Stage{{Percentage: 5, Duration: 30 * time.Minute, Gate: "error rate"}, {Percentage: 100}}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(s, "cdn", &Synthetic{N: 10_000}, Options{At: t0, Timelines: []Timeline{tl}})
	if err != nil {
		t.Fatal(err)
	}
	pts := rep.Timelines[0].Points
	if len(pts) != 2 || pts[1].Offset != 30*time.Minute || !near(pts[0].Percent, 5, 1) || pts[1].Users != 10_000 || pts[0].Gate != "error rate" {
		t.Errorf("stages: %+v", pts)
	}
	split := *f
	split.Rollout = snapshot.Serve{Kind: snapshot.ServeSplit}
	if _, err := Stages(&split, nil, time.Time{}); err == nil {
		t.Error("stages over a split")
	}
}

func TestReadList(t *testing.T) {
	in := "# comment\nu1\n\n{\"userId\":\"u2\",\"email\":\"a@company.com\"}\n  u3  \n"
	l, err := ReadList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 {
		t.Fatalf("Len = %d", l.Len())
	}
	ctx := evaluator.NewContext()
	l.Fill(1, "userId", ctx)
	if ctx.Get("email").Str() != "a@company.com" || ctx.Get("userId").Str() != "u2" {
		t.Errorf("JSON user: %v", ctx.Names())
	}
	l.Fill(2, "accountId", ctx)
	if ctx.Get("accountId").Str() != "u3" || ctx.Get("email").Kind() != evaluator.Null {
		t.Errorf("bare id: %v", ctx.Names())
	}
	if _, err := ReadList(strings.NewReader("u1\n{bad}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	s := sample(t)
	if _, err := Run(s, "nope", &Synthetic{N: 1}, Options{}); err == nil {
		t.Error("unknown flag")
	}
	if _, err := Run(s, "cdn", &Synthetic{}, Options{}); err == nil {
		t.Error("empty population")
	}
}

func BenchmarkRun(b *testing.B) {
	s := sample(b)
	tl := Schedules(&s.Flags[s.FlagIndex("cdn")])
	pop := &Synthetic{N: 100_000}
	for b.Loop() {
		if _, err := Run(s, "cdn", pop, Options{At: t0, Timelines: tl}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(4*pop.N*b.N)/b.Elapsed().Seconds(), "evals/s")
}
