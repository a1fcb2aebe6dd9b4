package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report is the outcome of a run; its JSON form is what --json prints.
type report struct {
	URL         string  `json:"url"`
	Method      string  `json:"method"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"` // requests per second asked for
	Seconds     float64 `json:"seconds"`        // how long the run took
	Requests    uint64  `json:"requests"`       // requests completed, errors included
	Errors      uint64  `json:"errors"`
	// Throughput is requests completed per second.
	Throughput float64 `json:"throughput"`
	// LatencyMs holds latency percentiles in milliseconds.
	LatencyMs struct {
		P50 float64 `json:"p50"`
		P90 float64 `json:"p90"`
		P99 float64 `json:"p99"`
		Max float64 `json:"max"`
	} `json:"latencyMs"`
	Statuses     map[string]uint64 `json:"statuses"`               // responses by status code
	ErrorSamples []string          `json:"errorSamples,omitempty"` // a few distinct error messages
}

func newReport(cfg *config, elapsed time.Duration, t *tally) *report {
	r := &report{
		URL: cfg.target.String(), Method: cfg.method, Concurrency: cfg.concurrency, Rate: cfg.rate,
		Seconds: elapsed.Seconds(), Requests: t.requests, Errors: t.errors,
		Statuses: map[string]uint64{}, ErrorSamples: t.samples,
	}
	if elapsed > 0 {
		r.Throughput = float64(t.requests) / elapsed.Seconds()
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.LatencyMs.P50 = ms(t.latency.quantile(0.50))
	r.LatencyMs.P90 = ms(t.latency.quantile(0.90))
	r.LatencyMs.P99 = ms(t.latency.quantile(0.99))
	r.LatencyMs.Max = ms(t.latency.max)
	for code, n := range t.statuses {
		r.Statuses[strconv.Itoa(code)] = n
	}
	return r
}

func (r *report) writeJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func (r *report) writeText(w io.Writer) error {
	var b strings.Builder
	pace := "closed loop"
	if r.Rate > 0 {
		pace = fmt.Sprintf("%g req/s scheduled", r.Rate)
	}
	fmt.Fprintf(&b, "target      %s %s\n", r.Method, r.URL)
	fmt.Fprintf(&b, "load        %d workers, %s, %.1f s\n", r.Concurrency, pace, r.Seconds)
	fmt.Fprintf(&b, "requests    %d (%d errors)\n", r.Requests, r.Errors)
	fmt.Fprintf(&b, "throughput  %.0f req/s\n", r.Throughput)
	fmt.Fprintf(&b, "latency     p50 %s  p90 %s  p99 %s  max %s\n",
		millis(r.LatencyMs.P50), millis(r.LatencyMs.P90), millis(r.LatencyMs.P99), millis(r.LatencyMs.Max))
	codes := make([]string, 0, len(r.Statuses))
	for code := range r.Statuses {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes))
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%s: %d", code, r.Statuses[code]))
	}
	fmt.Fprintf(&b, "statuses    %s\n", strings.Join(parts, ", "))
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(&b, "error       %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// millis formats milliseconds with three significant digits.
func millis(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}
