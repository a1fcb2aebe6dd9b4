//go:build !wasip1

package evaluator

import (
	"strconv"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// benchFixture holds a static flag, a 25% flag, and a flag with three rules, a segment
// and a ring ladder, all evaluated for a prepared context.
func benchFixture(b *testing.B) (*Evaluator, *Context) {
	bl := &builder{}
	bl.segments = []snapshot.Segment{{Key: "internal-employees", When: func() snapshot.Condition {
		c := bl.clause("email", snapshot.OpEndsWith, str("@company.com"))
		c.Clause.IgnoreCase = true
		return *c
	}()}}
	pctFlag := bl.boolFlag("percentage")
	pctFlag.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(25)}
	static := bl.boolFlag("static")
	static.Rollout.Variant = 1
	targeted := bl.boolFlag("targeted")
	on := snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()}
	targeted.Rules = []snapshot.Rule{
		{Name: "bots", When: bl.clause("userAgent", snapshot.OpContains, str("bot")), Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Portion: all()}},
		{Name: "old-app", When: bl.clause("appVersion", snapshot.OpSemverLt, semver("2.0.0")), Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Portion: all()}},
		{Name: "eu", When: bl.clause("country", snapshot.OpIn, str("DE"), str("FR"), str("NL")), Serve: on},
	}
	targeted.Rings = []snapshot.Ring{
		{Name: "internal", When: segRef(0), Portion: all()},
		{Name: "canary", When: bl.clause("betaProgram", snapshot.OpIn, boolLit(true)), Portion: all()},
		{Name: "early-majority", Portion: pct(25)},
	}
	targeted.ReleaseRing, targeted.ReleaseVar = 2, 1
	bl.flags = []snapshot.Flag{pctFlag, static, targeted}
	e := New(bl.build(b))
	ctx := NewContext().SetString("userId", "user-123456").SetString("email", "someone@example.com").
		SetString("country", "US").SetString("appVersion", "2.4.1").SetString("userAgent", "Mozilla/5.0").
		SetBool("betaProgram", false)
	e.Evaluate("static", ctx, evalTime) // bind the context once: it is now prepared
	return e, ctx
}

func benchmarkFlag(b *testing.B, key string) {
	e, ctx := benchFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = e.Evaluate(key, ctx, evalTime)
	}
}

func BenchmarkEvaluateStatic(b *testing.B)     { benchmarkFlag(b, "static") }
func BenchmarkEvaluatePercentage(b *testing.B) { benchmarkFlag(b, "percentage") }

// BenchmarkEvaluateRulesSegmentRing evaluates a flag with three rules that miss, then a
// segment ring that misses, a beta ring that misses and a 25% ring.
func BenchmarkEvaluateRulesSegmentRing(b *testing.B) { benchmarkFlag(b, "targeted") }

func BenchmarkEvaluateAll(b *testing.B) {
	e, ctx := benchFixture(b)
	dst := make([]Result, 0, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = e.EvaluateAll(ctx, evalTime, dst[:0])
	}
}

func BenchmarkDecode10000Flags(b *testing.B) {
	bl := &builder{}
	for i := 0; i < 10000; i++ {
		f := bl.boolFlag("flag-" + pad5(i))
		switch i % 3 {
		case 1:
			f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(float64(i % 100))}
		case 2:
			f.Rules = []snapshot.Rule{{Name: "r", When: bl.clause("plan", snapshot.OpIn, str("enterprise")),
				Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()}}}
		}
		bl.flags = append(bl.flags, f)
	}
	data := snapshot.Encode(bl.build(b))
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(len(data))/10000, "bytes/flag")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := snapshot.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func pad5(i int) string {
	s := itoa(i)
	for len(s) < 5 {
		s = "0" + s
	}
	return s
}

// Filling a context costs in proportion to its attributes: ns/op per attribute is the
// same for 1,000 and 8,000 (it was quadratic while Set searched the names linearly).
func BenchmarkContextSet(b *testing.B) {
	for _, n := range []int{8, 1000, 8000} {
		names := make([]string, n)
		for i := range names {
			names[i] = "attr" + strconv.Itoa(i)
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := NewContext()
			for b.Loop() {
				ctx.Reset()
				for _, name := range names {
					ctx.SetNumber(name, 1)
				}
				for _, name := range names {
					_ = ctx.Get(name)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/attr")
		})
	}
}
