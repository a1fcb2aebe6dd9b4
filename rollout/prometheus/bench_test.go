package prometheus_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/internal/promtest"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/prometheus"
)

// BenchmarkQueryParallel measures the provider against a real local Prometheus the way the
// controller uses it on a tick: many flags' queries at once, by a bounded number of workers.
// Each op is one Query (an error ratio by variant over 10 minutes) of one of 200 flags with
// two variants; qps is queries answered per second over all workers.
func BenchmarkQueryParallel(b *testing.B) {
	const flags = 200
	end := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	bf := promtest.NewBackfill(end, 30*time.Minute, 15*time.Second)
	for i := range flags {
		for _, variant := range []string{"on", "off"} {
			labels := func(code string) map[string]string {
				return map[string]string{"flag": fmt.Sprintf("flag-%d", i), "variant": variant, "code": code}
			}
			bf.Counter("edgeflag_http_requests_total", labels("200"), 10)
			bf.Counter("edgeflag_http_requests_total", labels("500"), 0.1)
		}
	}
	server := promtest.Start(b, promtest.Options{Backfill: bf})
	p, err := prometheus.New(context.Background(), prometheus.Config{URL: server.URL})
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			b.ResetTimer()
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						got, err := p.Query(context.Background(), rollout.Request{
							Metric: "error-rate", Query: rollout.Query{PromQL: errorRatio},
							Flag: fmt.Sprintf("flag-%d", i%flags), Variants: []string{"on", "off"},
							Window: 10 * time.Minute, End: end,
						})
						if err == nil && len(got) != 2 {
							err = fmt.Errorf("flag-%d: values %v, want on and off", i%flags, got)
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "qps")
		})
	}
}
