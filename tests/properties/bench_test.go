package properties_test

import (
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/evaluator"
)

// BenchmarkEvaluateAllExampleFlags evaluates every example flag (production) for one
// prepared context.
func BenchmarkEvaluateAllExampleFlags(b *testing.B) {
	snaps, err := compiler.Compile("../../flags", compiler.Options{Revision: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	e := evaluator.New(snaps["production"])
	ctx := evaluator.NewContext().SetString("userId", "user-123456").SetString("email", "ada@company.com").
		SetString("country", "DE").SetString("plan", "enterprise").SetNumber("accountAgeDays", 800).
		SetString("appVersion", "2.4.1").SetBool("betaProgram", true)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	dst := e.EvaluateAll(ctx, at, nil)
	b.ReportMetric(float64(len(dst)), "flags")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = e.EvaluateAll(ctx, at, dst[:0])
	}
}
