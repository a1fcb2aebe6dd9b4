package rollout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Encode validates the plan and writes it as canonical JSON: fields in declaration order,
// map keys sorted, two-space indentation, no HTML escaping, a final newline. The same plan
// always encodes to the same bytes.
func (p *Plan) Encode() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("rollout: encode the plan: %w", err)
	}
	return b.Bytes(), nil
}

// DecodePlan reads a plan written by Encode and validates it. Unknown fields are ignored,
// so that a controller can read the plans of a newer compiler.
func DecodePlan(data []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("rollout: decode the plan: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Fingerprint identifies a flag's stages and their criteria: the first 16 hex digits of
// the SHA-256 of their canonical JSON without the thresholds as written (only what they
// mean: comparison, value, baseline), so that respacing a threshold changes nothing and
// any change of a stage, a criterion or their order changes the fingerprint.
func Fingerprint(stages []Stage) string {
	canon := make([]Stage, len(stages))
	for i, st := range stages {
		canon[i] = st
		canon[i].Criteria = make([]Criterion, len(st.Criteria))
		for j, c := range st.Criteria {
			c.Threshold = ""
			canon[i].Criteria[j] = c
		}
	}
	data, err := json.Marshal(canon)
	if err != nil {
		// Only a NaN or infinite number fails, which Validate rules out; the
		// fingerprint then still differs from any valid plan's.
		data = []byte(err.Error())
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// Validate reports the first problem of a plan, or nil: unknown providers, kinds, units,
// directions, comparisons or actions; queries that do not fit their metric; flags out of
// order; stages that are not all percentages (increasing, 0 < p <= 100) or all rings
// (distinct); criteria on metrics the plan does not define; a fingerprint that does not
// match the stages.
func (p *Plan) Validate() error {
	if p.Environment == "" {
		return errors.New("rollout: invalid plan: no environment")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("rollout: invalid plan for %q: "+format, append([]any{p.Environment}, args...)...)
	}
	if err := p.Defaults.validate(); err != nil {
		return fail("defaults: %v", err)
	}
	for _, name := range sortedKeys(p.Metrics) {
		m := p.Metrics[name]
		if m.Name != name {
			return fail("metrics[%q]: named %q", name, m.Name)
		}
		if err := m.validate(); err != nil {
			return fail("metric %q: %v", name, err)
		}
	}
	for i, f := range p.Flags {
		if i > 0 && p.Flags[i-1].Flag >= f.Flag {
			return fail("flags out of order or repeated: %q after %q", f.Flag, p.Flags[i-1].Flag)
		}
		if err := f.validate(p.Metrics); err != nil {
			return fail("flag %q: %v", f.Flag, err)
		}
	}
	return nil
}

func (s Settings) validate() error {
	if s.MinSamples < 1 {
		return fmt.Errorf("minSamples %d is below 1", s.MinSamples)
	}
	if !(s.Confidence >= 0.5 && s.Confidence < 1) {
		return fmt.Errorf("confidence %v is outside [0.5, 1)", s.Confidence)
	}
	return nil
}

// queryRoles are the queries of each kind: required, then optional.
var queryRoles = map[string][2][]string{
	KindRatio: {{QueryNumerator, QueryDenominator}, nil},
	KindMean:  {{QuerySum, QueryCount}, {QuerySumOfSquares}},
	KindValue: {{QueryValue, QueryCount}, nil},
}

func (m Metric) validate() error {
	if m.Provider != ProviderPrometheus && m.Provider != ProviderCloudWatch {
		return fmt.Errorf("unknown provider %q", m.Provider)
	}
	roles, ok := queryRoles[m.Kind]
	if !ok {
		return fmt.Errorf("unknown kind %q", m.Kind)
	}
	switch m.Unit {
	case "%", "ms", "s", "":
	default:
		return fmt.Errorf("unknown unit %q", m.Unit)
	}
	if m.Kind == KindRatio && m.Unit != "%" {
		return fmt.Errorf("a ratio's unit is %%, not %q", m.Unit)
	}
	if m.Direction != LowerIsBetter && m.Direction != HigherIsBetter {
		return fmt.Errorf("unknown direction %q", m.Direction)
	}
	for _, r := range roles[0] {
		if _, ok := m.Queries[r]; !ok {
			return fmt.Errorf("a %s metric needs a %s query", m.Kind, r)
		}
	}
	for _, r := range sortedKeys(m.Queries) {
		if !slices.Contains(roles[0], r) && !slices.Contains(roles[1], r) {
			return fmt.Errorf("%q is not a query of a %s metric", r, m.Kind)
		}
		if err := m.Queries[r].validate(m.Provider); err != nil {
			return fmt.Errorf("query %s: %v", r, err)
		}
	}
	return nil
}

func (q Query) validate(provider string) error {
	switch provider {
	case ProviderPrometheus:
		if q.PromQL == "" || q.CloudWatch != nil {
			return errors.New("a prometheus query is PromQL only")
		}
	case ProviderCloudWatch:
		c := q.CloudWatch
		switch {
		case q.PromQL != "" || c == nil:
			return errors.New("a cloudwatch query is a CloudWatch metric or expression only")
		case c.Expression != "" && (c.Namespace != "" || c.MetricName != "" || c.Stat != "" || len(c.Dimensions) > 0):
			return errors.New("a cloudwatch expression has no namespace, metricName, dimensions or stat")
		case c.Expression == "" && (c.Namespace == "" || c.MetricName == "" || c.Stat == ""):
			return errors.New("a cloudwatch metric needs namespace, metricName and stat")
		}
	}
	return nil
}

func (f FlagPlan) validate(metrics map[string]Metric) error {
	switch {
	case f.Flag == "":
		return errors.New("no flag key")
	case f.NewVariant == "" || f.OldVariant == "":
		return errors.New("no new or old variant")
	case f.NewVariant == f.OldVariant:
		return fmt.Errorf("the new and the old variant are both %q", f.NewVariant)
	case len(f.Stages) == 0:
		return errors.New("no stages")
	}
	if err := f.Settings.validate(); err != nil {
		return fmt.Errorf("settings: %v", err)
	}
	byRing := f.Stages[0].Ring != ""
	prev := 0.0
	rings := map[string]bool{}
	for i, st := range f.Stages {
		at := func(format string, args ...any) error {
			return fmt.Errorf("stages[%d]: "+format, append([]any{i}, args...)...)
		}
		switch {
		case (st.Ring != "") == (st.Percentage != nil):
			return at("a stage has a percentage or a ring")
		case (st.Ring != "") != byRing:
			return at("stages are all percentages or all rings")
		case st.Ring != "" && rings[st.Ring]:
			return at("ring %q repeated", st.Ring)
		case st.Percentage != nil && !(*st.Percentage > prev && *st.Percentage <= 100):
			return at("percentage %v is not above the previous stage's and at most 100", *st.Percentage)
		case st.Infinite && (i != len(f.Stages)-1 || st.Duration != 0):
			return at("only the last stage lasts for infinity (with duration 0)")
		case !st.Infinite && st.Duration <= 0:
			return at("duration %v is not positive", st.Duration)
		}
		if st.Percentage != nil {
			prev = *st.Percentage
		}
		rings[st.Ring] = true
		for j, c := range st.Criteria {
			if err := c.validate(metrics); err != nil {
				return at("criteria[%d]: %v", j, err)
			}
		}
	}
	if want := Fingerprint(f.Stages); f.Fingerprint != want {
		return fmt.Errorf("fingerprint %q does not match the stages (%q)", f.Fingerprint, want)
	}
	return nil
}

func (c Criterion) validate(metrics map[string]Metric) error {
	if _, ok := metrics[c.Metric]; !ok {
		return fmt.Errorf("metric %q is not among the plan's metrics (%s)", c.Metric, strings.Join(sortedKeys(metrics), ", "))
	}
	switch c.Comparison {
	case "<", "<=", ">", ">=":
	default:
		return fmt.Errorf("unknown comparison %q", c.Comparison)
	}
	if c.OnFail != OnFailRollback && c.OnFail != OnFailPause {
		return fmt.Errorf("unknown onFail %q", c.OnFail)
	}
	if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) || (c.Baseline && c.Value <= 0) {
		return fmt.Errorf("threshold value %v is not a finite number (a baseline factor above 0)", c.Value)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
