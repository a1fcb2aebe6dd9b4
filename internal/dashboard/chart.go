package dashboard

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
)

// ChartPoints is how many points of the current stage the chart asks the providers for.
const ChartPoints = 20

// Chart geometry, in SVG user units.
const (
	chartWidth  = 640
	panelHeight = 150
	padLeft     = 70
	padRight    = 16
	padTop      = 26
	padBottom   = 24
)

// chart answers GET flags/{key}/chart.svg?env=E: new against old for each metric of the
// current stage, over the stage so far (rollout.Controller.Series), as an SVG image.
func (h *Handler) chart(w http.ResponseWriter, r *http.Request, key string) {
	ctx := r.Context()
	env, _, err := h.pickEnv(ctx, r)
	if err != nil {
		writeJSONError(w, statusOf(err), "unknown_environment", err.Error())
		return
	}
	points, err := h.controller().Series(ctx, env, key, ChartPoints)
	if err != nil {
		writeJSONError(w, statusOf(err), "series", err.Error())
		return
	}
	var plan *rollout.Plan
	if ptr, _, err := publish.ReadPointer(ctx, h.cfg.Store, env); err == nil {
		if data, err := publish.ReadPlan(ctx, h.cfg.Store, ptr); err == nil && data != nil {
			plan, _ = rollout.ParsePlan(data)
		}
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(renderChart(points, plan))
}

// series is one metric's values over the points.
type series struct {
	metric   string
	unit     string
	at       []time.Time
	new, old []*float64
}

// renderChart draws one panel per metric: new (solid) and old (dashed) over time.
func renderChart(points []rollout.SeriesPoint, plan *rollout.Plan) []byte {
	var list []*series
	byMetric := map[string]*series{}
	for _, p := range points {
		seen := map[string]bool{}
		for _, c := range p.Checks {
			if seen[c.Metric] {
				continue
			}
			seen[c.Metric] = true
			s := byMetric[c.Metric]
			if s == nil {
				s = &series{metric: c.Metric}
				if plan != nil {
					s.unit = plan.Metrics[c.Metric].Unit
				}
				byMetric[c.Metric] = s
				list = append(list, s)
			}
			s.at = append(s.at, p.At)
			s.new = append(s.new, c.New)
			s.old = append(s.old, c.Old)
		}
	}
	var b bytes.Buffer
	height := max(len(list), 1) * panelHeight
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="new against old over the current stage" font-family="sans-serif" font-size="11">`,
		chartWidth, height, chartWidth, height)
	if len(list) == 0 {
		fmt.Fprintf(&b, `<text x="10" y="40" fill="#555">No metrics to chart: the rollout has no running stage with criteria.</text></svg>`)
		return b.Bytes()
	}
	for i, s := range list {
		drawPanel(&b, s, i*panelHeight)
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

func drawPanel(b *bytes.Buffer, s *series, top int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, vs := range [][]*float64{s.new, s.old} {
		for _, v := range vs {
			if v != nil {
				lo, hi = min(lo, *v), max(hi, *v)
			}
		}
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold">%s</text>`, padLeft, top+16, html.EscapeString(s.metric))
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#b00020">— new</text><text x="%d" y="%d" fill="#1f5fbf">- - old</text>`,
		chartWidth-140, top+16, chartWidth-80, top+16)
	x0, x1 := padLeft, chartWidth-padRight
	y0, y1 := top+panelHeight-padBottom, top+padTop
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`, x0, y1, x1-x0, y0-y1)
	if math.IsInf(lo, 1) {
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555">no data yet</text>`, x0+10, (y0+y1)/2)
		return
	}
	if hi == lo {
		hi, lo = hi+math.Max(math.Abs(hi)*0.1, 1e-9), lo-math.Max(math.Abs(lo)*0.1, 1e-9)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, x0-4, y1+4, html.EscapeString(format(hi, s.unit)))
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, x0-4, y0, html.EscapeString(format(lo, s.unit)))
	n := len(s.at)
	if n > 0 {
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`, x0, y0+14, s.at[0].UTC().Format("15:04:05Z"))
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, x1, y0+14, s.at[n-1].UTC().Format("15:04:05Z"))
	}
	xy := func(i int, v float64) (float64, float64) {
		x := float64(x0)
		if n > 1 {
			x += float64(x1-x0) * float64(i) / float64(n-1)
		}
		y := float64(y0) - float64(y0-y1)*(v-lo)/(hi-lo)
		return x, y
	}
	line := func(vs []*float64, color, dash string) {
		var pts []string
		for i, v := range vs {
			if v == nil {
				continue
			}
			x, y := xy(i, *v)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		if len(pts) == 0 {
			return
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(pts, " "), color, dash)
	}
	line(s.old, "#1f5fbf", ` stroke-dasharray="5,4"`)
	line(s.new, "#b00020", "")
}
