package rollout_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/promtest"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/prometheus"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
)

// BenchmarkTick1000Flags times one controller tick over 1,000 flags with stages, each
// with two error-rate criteria (two Prometheus queries per flag), against a real
// Prometheus holding an hour of per-variant counters for every flag, with the
// controller's default query concurrency. One op is one whole tick: 2,000 queries, the
// decisions, and the write of the rollout state.
//
//	go test ./rollout -run '^$' -bench Tick1000Flags -benchtime 5x
func BenchmarkTick1000Flags(b *testing.B) {
	const flags = 1000
	now := time.Now().UTC().Truncate(time.Second)
	fill := promtest.NewBackfill(now, time.Hour, time.Minute)
	for i := range flags {
		key := fmt.Sprintf("flag-%04d", i)
		for _, v := range []string{"on", "off"} {
			fill.Counter("edgeflag_http_requests_total", map[string]string{"flag": key, "variant": v, "code": "200"}, 20)
			fill.Counter("edgeflag_http_requests_total", map[string]string{"flag": key, "variant": v, "code": "500"}, 0.1)
		}
	}
	prom := promtest.Start(b, promtest.Options{Backfill: fill})
	ctx := context.Background()

	p, err := compiler.Load(filepath.Join("testdata", "flags"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := p.Build("production", compiler.Options{Revision: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	template, err := p.RolloutPlan("production")
	if err != nil {
		b.Fatal(err)
	}
	healthy := template.Flags[0] // "broken", "healthy", ...: any flag with three criteria
	plan := &rollout.Plan{Environment: "production", Metrics: map[string]rollout.Metric{"error_rate": template.Metrics["error_rate"]}, Defaults: template.Defaults}
	for i := range flags {
		fp := healthy
		fp.Flag = fmt.Sprintf("flag-%04d", i)
		fp.Stages = nil
		for _, st := range healthy.Stages {
			st.Criteria = st.Criteria[:min(len(st.Criteria), 2)] // the two error-rate criteria
			fp.Stages = append(fp.Stages, st)
		}
		fp.Fingerprint = rollout.Fingerprint(fp.Stages)
		plan.Flags = append(plan.Flags, fp)
	}
	planData, err := plan.Encode()
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	pub := publish.New(st)
	if _, err := pub.PublishWithPlan(ctx, snapshot.Encode(s), planData, "bench"); err != nil {
		b.Fatal(err)
	}
	prov, err := prometheus.New(ctx, prometheus.Config{URL: prom.URL})
	if err != nil {
		b.Fatal(err)
	}
	start := now.Add(-50 * time.Minute)
	clk := &clock{t: start}
	ctl := &rollout.Controller{Publisher: pub, Providers: map[string]rollout.Provider{rollout.ProviderPrometheus: prov}, Now: clk.Now}
	if _, err := ctl.Tick(ctx, "production"); err != nil { // starts every rollout
		b.Fatal(err)
	}
	clk.Set(start.Add(10 * time.Minute))
	b.ResetTimer()
	for range b.N {
		res, err := ctl.Tick(ctx, "production")
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Decisions) != flags || len(res.Decisions[0].Decision.Checks) != 2 {
			b.Fatalf("%d decisions, %d checks", len(res.Decisions), len(res.Decisions[0].Decision.Checks))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/tick")
}
