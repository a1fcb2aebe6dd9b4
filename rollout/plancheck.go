package rollout

import (
	"encoding/json"
	"fmt"
)

// ParsePlan decodes a plan published by the compiler and checks what the controller
// relies on: every criterion names a defined metric whose provider and queries fit its
// kind, and every stage serves a percentage or a ring.
func ParsePlan(data []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("rollout: plan is not valid JSON: %w", err)
	}
	for name, m := range p.Metrics {
		if err := checkMetric(name, m); err != nil {
			return nil, err
		}
	}
	for i := range p.Flags {
		f := &p.Flags[i]
		if f.Settings.MinSamples <= 0 {
			f.Settings.MinSamples = p.Defaults.MinSamples
		}
		if f.Settings.Confidence <= 0 {
			f.Settings.Confidence = p.Defaults.Confidence
		}
		if f.Settings.MinSamples <= 0 {
			f.Settings.MinSamples = DefaultMinSamples
		}
		if f.Settings.Confidence <= 0 || f.Settings.Confidence >= 1 {
			f.Settings.Confidence = DefaultConfidence
		}
		if len(f.Stages) == 0 {
			return nil, fmt.Errorf("rollout: plan: flag %q has no stages", f.Flag)
		}
		for j, st := range f.Stages {
			if (st.Percentage == nil) == (st.Ring == "") {
				return nil, fmt.Errorf("rollout: plan: flag %q stage %d must serve a percentage or a ring", f.Flag, j+1)
			}
			for _, c := range st.Criteria {
				if _, ok := p.Metrics[c.Metric]; !ok {
					return nil, fmt.Errorf("rollout: plan: flag %q stage %d names metric %q, which the plan does not define", f.Flag, j+1, c.Metric)
				}
				switch c.Comparison {
				case "<", "<=", ">", ">=":
				default:
					return nil, fmt.Errorf("rollout: plan: flag %q stage %d: comparison %q of %s is not <, <=, > or >=", f.Flag, j+1, c.Comparison, c.Metric)
				}
			}
		}
	}
	return &p, nil
}

// rolesOf lists the query roles a metric kind needs, then the optional ones.
func rolesOf(kind string) (required, optional []string) {
	switch kind {
	case KindRatio:
		return []string{QueryNumerator, QueryDenominator}, nil
	case KindMean:
		return []string{QuerySum, QueryCount}, []string{QuerySumOfSquares}
	case KindValue:
		return []string{QueryValue, QueryCount}, nil
	}
	return nil, nil
}

func checkMetric(name string, m Metric) error {
	required, optional := rolesOf(m.Kind)
	if required == nil {
		return fmt.Errorf("rollout: plan: metric %q has kind %q (want ratio, mean or value)", name, m.Kind)
	}
	if m.Provider != ProviderPrometheus && m.Provider != ProviderCloudWatch {
		return fmt.Errorf("rollout: plan: metric %q has provider %q (want prometheus or cloudwatch)", name, m.Provider)
	}
	for _, role := range required {
		if _, ok := m.Queries[role]; !ok {
			return fmt.Errorf("rollout: plan: metric %q (%s) has no %s query", name, m.Kind, role)
		}
	}
	for role, q := range m.Queries {
		known := false
		for _, r := range append(required, optional...) {
			known = known || r == role
		}
		if !known {
			return fmt.Errorf("rollout: plan: metric %q (%s) has an unknown query %q", name, m.Kind, role)
		}
		if (m.Provider == ProviderPrometheus) != (q.PromQL != "") || (m.Provider == ProviderCloudWatch) != (q.CloudWatch != nil) {
			return fmt.Errorf("rollout: plan: metric %q: its %s query is not a %s query", name, role, m.Provider)
		}
	}
	return nil
}
