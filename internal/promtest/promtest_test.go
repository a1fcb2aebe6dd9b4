package promtest

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBackfillOpenMetrics(t *testing.T) {
	end := time.Unix(1_800_000_000, 0)
	b := NewBackfill(end, 30*time.Second, 15*time.Second)
	b.Counter("edgeflag_http_requests_total", map[string]string{"variant": "on", "code": "200"}, 2)
	b.Histogram("edgeflag_http_request_duration_seconds", map[string]string{"variant": "on"}, []float64{0.1, 0.5}, []float64{1, 0.5, 0.25})
	got, err := b.OpenMetrics()
	if err != nil {
		t.Fatal(err)
	}
	want := `# TYPE edgeflag_http_requests counter
edgeflag_http_requests_total{code="200",variant="on"} 0 1799999970
edgeflag_http_requests_total{code="200",variant="on"} 30 1799999985
edgeflag_http_requests_total{code="200",variant="on"} 60 1800000000
# TYPE edgeflag_http_request_duration_seconds histogram
edgeflag_http_request_duration_seconds_bucket{variant="on",le="0.1"} 0 1799999970
edgeflag_http_request_duration_seconds_bucket{variant="on",le="0.5"} 0 1799999970
edgeflag_http_request_duration_seconds_bucket{variant="on",le="+Inf"} 0 1799999970
edgeflag_http_request_duration_seconds_count{variant="on"} 0 1799999970
edgeflag_http_request_duration_seconds_sum{variant="on"} 0 1799999970
edgeflag_http_request_duration_seconds_bucket{variant="on",le="0.1"} 15 1799999985
edgeflag_http_request_duration_seconds_bucket{variant="on",le="0.5"} 22.5 1799999985
edgeflag_http_request_duration_seconds_bucket{variant="on",le="+Inf"} 26.25 1799999985
edgeflag_http_request_duration_seconds_count{variant="on"} 26.25 1799999985
edgeflag_http_request_duration_seconds_sum{variant="on"} 7.125 1799999985
edgeflag_http_request_duration_seconds_bucket{variant="on",le="0.1"} 30 1800000000
edgeflag_http_request_duration_seconds_bucket{variant="on",le="0.5"} 45 1800000000
edgeflag_http_request_duration_seconds_bucket{variant="on",le="+Inf"} 52.5 1800000000
edgeflag_http_request_duration_seconds_count{variant="on"} 52.5 1800000000
edgeflag_http_request_duration_seconds_sum{variant="on"} 14.25 1800000000
# EOF
`
	if string(got) != want {
		t.Errorf("OpenMetrics:\n%s\nwant:\n%s", got, want)
	}
}

func TestBackfillErrors(t *testing.T) {
	end := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name  string
		build func() *Backfill
		want  string
	}{
		{"span shorter than step", func() *Backfill { return NewBackfill(end, time.Second, time.Minute) }, "at least one step"},
		{"sub-second step", func() *Backfill { return NewBackfill(end, time.Minute, time.Millisecond) }, "whole seconds"},
		{"bucket count", func() *Backfill {
			b := NewBackfill(end, time.Minute, 15*time.Second)
			b.Histogram("h", nil, []float64{1, 2}, []float64{1, 2})
			return b
		}, "2 bucket rates for 2 bounds"},
		{"unsorted bounds", func() *Backfill {
			b := NewBackfill(end, time.Minute, 15*time.Second)
			b.Histogram("h", nil, []float64{2, 1}, []float64{1, 2, 3})
			return b
		}, "not ascending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.build().OpenMetrics()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigRejectsBadTarget(t *testing.T) {
	if _, err := configYAML(Options{Scrape: []string{"127.0.0.1:9100"}}); err == nil {
		t.Fatal("a target without scheme was accepted")
	}
}

// TestBackfilledAndScraped starts a real Prometheus with backfilled per-variant counters
// and histograms and a scraped target, and checks what PromQL answers.
func TestBackfilledAndScraped(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "# TYPE edgeflag_test_up gauge")
		fmt.Fprintln(w, `edgeflag_test_up{variant="on"} 1`)
	}))
	defer target.Close()

	end := time.Now().Add(-time.Second).Truncate(time.Second)
	b := NewBackfill(end, 30*time.Minute, 15*time.Second)
	for variant, errs := range map[string]float64{"on": 1, "off": 0.5} {
		b.Counter("edgeflag_http_requests_total", map[string]string{"flag": "checkout", "variant": variant, "code": "200"}, 100-errs)
		b.Counter("edgeflag_http_requests_total", map[string]string{"flag": "checkout", "variant": variant, "code": "500"}, errs)
		b.Histogram("edgeflag_http_request_duration_seconds", map[string]string{"flag": "checkout", "variant": variant},
			[]float64{0.05, 0.1, 0.25, 0.5, 1}, []float64{80, 10, 8, 2, 0, 0})
	}
	s := Start(t, Options{Backfill: b, Scrape: []string{target.URL + "/metrics"}})

	got := map[string]float64{}
	for _, smp := range s.Query(t, `sum by (variant) (rate(edgeflag_http_requests_total{code="500"}[5m])) / sum by (variant) (rate(edgeflag_http_requests_total[5m]))`, end) {
		got[smp.Labels["variant"]] = smp.Value
	}
	if len(got) != 2 || math.Abs(got["on"]-0.01) > 1e-9 || math.Abs(got["off"]-0.005) > 1e-9 {
		t.Errorf("error ratio by variant = %v, want on 0.01, off 0.005", got)
	}
	p99 := s.Query(t, `histogram_quantile(0.99, sum by (le) (rate(edgeflag_http_request_duration_seconds_bucket{variant="on"}[5m])))`, end)
	if len(p99) != 1 || math.Abs(p99[0].Value-0.375) > 1e-9 {
		t.Errorf("p99 = %v, want 0.375", p99)
	}

	up := s.WaitFor(t, `edgeflag_test_up{variant="on"}`, 15*time.Second)
	if up[0].Value != 1 || up[0].Labels["job"] != "test" {
		t.Errorf("scraped %v", up)
	}

	s.Stop()
	if _, err := http.Get(s.URL + "/-/ready"); err == nil {
		t.Error("the server still answers after Stop")
	}
}
