package compiler

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/rollout"
)

// Metric is a metric of the project's `metrics`, as the rollout controller receives it,
// with where it is written.
type Metric struct {
	Pos         // the metric's name
	Description string
	rollout.Metric
}

// Metric returns the project's metric with the given name, or nil.
func (p *Project) Metric(name string) *Metric {
	i, ok := searchKey(p.Metrics, name, func(m *Metric) string { return m.Name })
	if !ok {
		return nil
	}
	return p.Metrics[i]
}

// queryRoles are the queries each kind of metric takes, required ones first.
var queryRoles = map[string]struct{ required, optional []string }{
	rollout.KindRatio: {required: []string{rollout.QueryNumerator, rollout.QueryDenominator}},
	rollout.KindMean:  {required: []string{rollout.QuerySum, rollout.QueryCount}, optional: []string{rollout.QuerySumOfSquares}},
	rollout.KindValue: {required: []string{rollout.QueryValue, rollout.QueryCount}},
}

// allQueryRoles are the query fields of a metric, in the schema's order.
var allQueryRoles = []string{
	rollout.QueryNumerator, rollout.QueryDenominator, rollout.QuerySum,
	rollout.QueryCount, rollout.QuerySumOfSquares, rollout.QueryValue,
}

// placeholders are the names a query template may use.
var placeholders = map[string]bool{"flag": true, "environment": true, "variant": true, "window": true}

// metricUnit returns a metric's unit: as written, else "%" for a ratio and "" otherwise.
func metricUnit(m node) string {
	if u, _ := m.get("unit"); u.ok() {
		return str(u)
	}
	if k, _ := m.get("kind"); str(k) == rollout.KindRatio {
		return "%"
	}
	return ""
}

// metrics decodes the project's `metrics`, sorted by name.
func (d *decoder) metrics(n node) []*Metric {
	var out []*Metric
	for key, val := range n.entries() {
		path := field("metrics", key.text())
		get := func(name string) node { v, _ := val.get(name); return v }
		m := &Metric{Pos: d.pos(key), Description: str(get("description")), Metric: rollout.Metric{
			Name:      key.text(),
			Provider:  str(get("provider")),
			Kind:      str(get("kind")),
			Unit:      metricUnit(val),
			Direction: rollout.LowerIsBetter,
			Queries:   map[string]rollout.Query{},
		}}
		if dn := get("direction"); dn.ok() {
			m.Direction = str(dn)
		}
		roles := queryRoles[m.Kind]
		for _, role := range allQueryRoles {
			qn, qk := val.get(role)
			if !qn.ok() {
				continue
			}
			if !slices.Contains(roles.required, role) && !slices.Contains(roles.optional, role) {
				d.errorf(qk, path, "%q is not a query of a %s metric (a %s metric has %s)", role, m.Kind, m.Kind, describeRoles(m.Kind))
				continue
			}
			if q, ok := d.query(qn, field(path, role), m.Provider); ok {
				m.Queries[role] = q
			}
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Metric) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func describeRoles(kind string) string {
	r := queryRoles[kind]
	s := strings.Join(r.required, " and ")
	if len(r.optional) > 0 {
		s += ", optionally " + strings.Join(r.optional, " and ")
	}
	return s
}

// query decodes one query of a metric, checking that its shape fits the provider and
// that its templates use only known placeholders.
func (d *decoder) query(n node, path, provider string) (rollout.Query, bool) {
	switch provider {
	case rollout.ProviderPrometheus:
		if n.kind() != scalarNode {
			d.errorf(n, path, "a prometheus metric's queries are PromQL strings, not %s", describe(n))
			return rollout.Query{}, false
		}
		d.template(n, path)
		return rollout.Query{PromQL: str(n)}, true
	case rollout.ProviderCloudWatch:
		if n.kind() != mappingNode {
			d.errorf(n, path, "a cloudwatch metric's queries are mappings, { namespace, metricName, dimensions, stat } or { expression }, not a string")
			return rollout.Query{}, false
		}
		get := func(name string) node { v, _ := n.get(name); return v }
		cw := &rollout.CloudWatchQuery{}
		if e := get("expression"); e.ok() {
			d.template(e, field(path, "expression"))
			cw.Expression = str(e)
			return rollout.Query{CloudWatch: cw}, true
		}
		var missing []string
		for _, f := range []string{"namespace", "metricName", "stat"} {
			v := get(f)
			if !v.ok() {
				missing = append(missing, f)
				continue
			}
			d.template(v, field(path, f))
		}
		if dims := get("dimensions"); dims.ok() {
			cw.Dimensions = map[string]string{}
			for k, v := range dims.entries() {
				d.template(v, field(field(path, "dimensions"), k.text()))
				cw.Dimensions[k.text()] = str(v)
			}
		}
		if len(missing) > 0 {
			d.errorf(n, path, "a cloudwatch query needs %s (or an expression)", strings.Join(quoteAll(missing), ", "))
			return rollout.Query{}, false
		}
		cw.Namespace, cw.MetricName, cw.Stat = str(get("namespace")), str(get("metricName")), str(get("stat"))
		return rollout.Query{CloudWatch: cw}, true
	}
	return rollout.Query{}, false
}

// template reports unknown and unclosed placeholders in a query template.
func (d *decoder) template(n node, path string) {
	t := str(n)
	for {
		i := strings.Index(t, "{{")
		if i < 0 {
			return
		}
		j := strings.Index(t[i:], "}}")
		if j < 0 {
			d.errorf(n, path, "unclosed placeholder %q: placeholders are {{flag}}, {{environment}}, {{variant}} and {{window}}", t[i:min(len(t), i+20)])
			return
		}
		name := strings.TrimSpace(t[i+2 : i+j])
		if !placeholders[name] {
			d.errorf(n, path, "unknown placeholder {{%s}}%s", name, didYouMean(name, placeholders))
		}
		t = t[i+j+2:]
	}
}

// rolloutSettings decodes the project's `rollouts`, with the built-in defaults.
func (d *decoder) rolloutSettings(n node) rollout.Settings {
	s := rollout.Settings{MinSamples: rollout.DefaultMinSamples, Confidence: rollout.DefaultConfidence}
	if !n.ok() {
		return s
	}
	if v, _ := n.get("minSamples"); v.ok() {
		f := num(v)
		if f != math.Trunc(f) || f < 1 || f > 1e15 {
			d.errorf(v, "rollouts.minSamples", "minSamples is a whole number from 1 to 10^15, not %s", formatNumber(f))
		}
		s.MinSamples = int64(f)
	}
	if v, _ := n.get("confidence"); v.ok() {
		s.Confidence = num(v)
	}
	return s
}

// criterionValue returns a criterion's threshold in the base of its metric's unit (a
// fraction for "%", milliseconds for "ms", seconds for "s"), or the baseline factor; or
// an error that says why the threshold's unit does not fit the metric's.
func criterionValue(c *Criterion, metricName, metricUnit string) (float64, error) {
	if c.Baseline {
		if c.Value <= 0 {
			return 0, fmt.Errorf("the baseline factor must be greater than 0, not %s", formatNumber(c.Value))
		}
		return c.Value, nil
	}
	mismatch := func(want string) error {
		got := "a plain number"
		if c.Unit != "" {
			got = "in " + c.Unit
		}
		return fmt.Errorf("threshold %q is %s, but metric %q is %s: write it %s, or as baseline * FACTOR", c.Threshold, got, metricName, unitName(metricUnit), want)
	}
	switch metricUnit {
	case "%":
		if c.Unit != "%" {
			return 0, mismatch("in percent (< 0.5%)")
		}
		if c.Value < 0 || c.Value > 100 {
			return 0, fmt.Errorf("threshold %q is outside 0..100%%, the range of a ratio", c.Threshold)
		}
		return shift(c.Value, -2), nil
	case "ms", "s":
		exp, ok := map[[2]string]int{{"ms", "ms"}: 0, {"ms", "s"}: 3, {"s", "s"}: 0, {"s", "ms"}: -3}[[2]string{metricUnit, c.Unit}]
		if !ok {
			return 0, mismatch("in ms or s (< 500ms, < 0.5s)")
		}
		return shift(c.Value, exp), nil
	}
	if c.Unit != "" {
		return 0, mismatch("as a plain number (> 12.5)")
	}
	return c.Value, nil
}

// shift multiplies v by 10^exp in decimal, so that 0.3% is exactly the float64 nearest
// 0.003 (0.3/100 is not).
func shift(v float64, exp int) float64 {
	if exp == 0 {
		return v
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 64)+"e"+strconv.Itoa(exp), 64)
	if err != nil {
		return v * math.Pow10(exp)
	}
	return r
}

func unitName(u string) string {
	switch u {
	case "%":
		return "a percentage (unit %)"
	case "ms":
		return "in milliseconds (unit ms)"
	case "s":
		return "in seconds (unit s)"
	}
	return "a plain number (no unit)"
}
