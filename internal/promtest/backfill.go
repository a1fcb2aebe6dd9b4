package promtest

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Backfill is a deterministic set of series written into the server's storage before it
// starts: counters and histograms that grow at a constant rate, sampled every Step from
// End-Span to End. Rates over any window inside that span are exact, so tests can assert
// the values PromQL returns.
type Backfill struct {
	End  time.Time     // the last sample
	Span time.Duration // how far back the first sample is
	Step time.Duration // the sampling interval

	families []family
}

type family struct {
	name, kind string
	series     []series
}

type series struct {
	labels    map[string]string
	perSecond float64   // counters
	bounds    []float64 // histograms: upper bounds, without +Inf
	buckets   []float64 // histograms: observations per second per bucket, len(bounds)+1
}

// NewBackfill returns an empty backfill of samples every step over span, ending at end
// (whole seconds; the last sample is at end truncated to the second). The span must
// be at least one step, and the end must not be in the future: the server would refuse
// the samples it scrapes before it.
func NewBackfill(end time.Time, span, step time.Duration) *Backfill {
	return &Backfill{End: end.Truncate(time.Second), Span: span, Step: step}
}

// Counter adds a counter series that grows by perSecond every second, from zero at the
// first sample. name is the sample name (edgeflag_http_requests_total); the family is
// name without its _total suffix, as OpenMetrics writes counters.
func (b *Backfill) Counter(name string, labels map[string]string, perSecond float64) {
	b.add(strings.TrimSuffix(name, "_total"), "counter", series{labels: labels, perSecond: perSecond})
}

// Histogram adds a classic histogram series: bounds are the buckets' upper bounds
// (ascending, without +Inf) and perSecond the observations per second that fall in each
// bucket (not cumulative; one more than bounds, the last for +Inf). The _sum grows as if
// every observation were its bucket's upper bound (the last finite bound for +Inf).
func (b *Backfill) Histogram(name string, labels map[string]string, bounds, perSecond []float64) {
	b.add(name, "histogram", series{labels: labels, bounds: bounds, buckets: perSecond})
}

func (b *Backfill) add(name, kind string, s series) {
	for i := range b.families {
		if b.families[i].name == name {
			b.families[i].series = append(b.families[i].series, s)
			return
		}
	}
	b.families = append(b.families, family{name: name, kind: kind, series: []series{s}})
}

// OpenMetrics returns the samples in the OpenMetrics text format that
// `promtool tsdb create-blocks-from openmetrics` reads.
func (b *Backfill) OpenMetrics() ([]byte, error) {
	if b.Step <= 0 || b.Span < b.Step {
		return nil, fmt.Errorf("promtest: backfill span %v must be at least one step (%v > 0)", b.Span, b.Step)
	}
	end := b.End.Unix()
	step := int64(b.Step / time.Second)
	if step < 1 {
		return nil, fmt.Errorf("promtest: backfill step %v must be whole seconds", b.Step)
	}
	first := end - int64(b.Span/time.Second)
	var w bytes.Buffer
	for _, f := range b.families {
		fmt.Fprintf(&w, "# TYPE %s %s\n", f.name, f.kind)
		for _, s := range f.series {
			if f.kind == "histogram" {
				if len(s.buckets) != len(s.bounds)+1 {
					return nil, fmt.Errorf("promtest: histogram %s: %d bucket rates for %d bounds, want one more (+Inf)",
						f.name, len(s.buckets), len(s.bounds))
				}
				if !sort.Float64sAreSorted(s.bounds) {
					return nil, fmt.Errorf("promtest: histogram %s: bounds %v not ascending", f.name, s.bounds)
				}
			}
			for ts := first; ts <= end; ts += step {
				elapsed := float64(ts - first)
				switch f.kind {
				case "counter":
					fmt.Fprintf(&w, "%s_total%s %s %d\n", f.name, labelString(s.labels, "", ""), num(s.perSecond*elapsed), ts)
				case "histogram":
					var cum, sum float64
					for i, perSecond := range s.buckets {
						cum += perSecond * elapsed
						le := "+Inf"
						bound := s.bounds[len(s.bounds)-1]
						if i < len(s.bounds) {
							bound = s.bounds[i]
							le = num(bound)
						}
						sum += perSecond * elapsed * bound
						fmt.Fprintf(&w, "%s_bucket%s %s %d\n", f.name, labelString(s.labels, "le", le), num(cum), ts)
					}
					fmt.Fprintf(&w, "%s_count%s %s %d\n", f.name, labelString(s.labels, "", ""), num(cum), ts)
					fmt.Fprintf(&w, "%s_sum%s %s %d\n", f.name, labelString(s.labels, "", ""), num(sum), ts)
				}
			}
		}
	}
	w.WriteString("# EOF\n")
	return w.Bytes(), nil
}

// create writes the backfill as TSDB blocks into data.
func (b *Backfill) create(promtool, dir, data string) error {
	text, err := b.OpenMetrics()
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "backfill.om")
	if err := os.WriteFile(file, text, 0o644); err != nil {
		return err
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, data).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtest: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return nil
}

func labelString(labels map[string]string, extraName, extraValue string) string {
	names := make([]string, 0, len(labels)+1)
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + strconv.Quote(labels[k]))
	}
	if extraName != "" {
		if len(names) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extraName + "=" + strconv.Quote(extraValue))
	}
	b.WriteByte('}')
	if b.Len() == 2 {
		return ""
	}
	return b.String()
}

func num(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
