package rollout

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func pct(p float64) *float64 { return &p }

// validPlan is a small plan that passes Validate; tests break one thing at a time.
func validPlan() *Plan {
	p := &Plan{
		Environment: "production",
		Metrics: map[string]Metric{
			"error_rate": {Name: "error_rate", Provider: ProviderPrometheus, Kind: KindRatio, Unit: "%", Direction: LowerIsBetter,
				Queries: map[string]Query{QueryNumerator: {PromQL: "a"}, QueryDenominator: {PromQL: "b"}}},
			"latency": {Name: "latency", Provider: ProviderCloudWatch, Kind: KindValue, Unit: "ms", Direction: LowerIsBetter,
				Queries: map[string]Query{
					QueryValue: {CloudWatch: &CloudWatchQuery{Namespace: "App", MetricName: "Latency", Stat: "p99", Dimensions: map[string]string{"variant": "{{variant}}"}}},
					QueryCount: {CloudWatch: &CloudWatchQuery{Expression: "SUM(x)"}},
				}},
		},
		Defaults: Settings{MinSamples: DefaultMinSamples, Confidence: DefaultConfidence},
		Flags: []FlagPlan{{
			Flag: "a", NewVariant: "on", OldVariant: "off", Settings: Settings{MinSamples: 500, Confidence: 0.95},
			Stages: []Stage{
				{Percentage: pct(5), Duration: Duration(30 * time.Minute), Criteria: []Criterion{
					{Metric: "error_rate", Threshold: "< 0.5%", Comparison: "<", Value: 0.005, OnFail: OnFailRollback},
					{Metric: "latency", Threshold: "<= baseline * 1.2", Comparison: "<=", Value: 1.2, Baseline: true, OnFail: OnFailPause},
				}},
				{Percentage: pct(100), Infinite: true},
			},
			File: "flags/a.yaml", Line: 7,
		}, {
			Flag: "b", NewVariant: "on", OldVariant: "off", Settings: Settings{MinSamples: 500, Confidence: 0.95},
			Stages: []Stage{{Ring: "internal", Duration: Duration(time.Hour)}, {Ring: "everyone", Infinite: true}},
		}},
	}
	for i := range p.Flags {
		p.Flags[i].Fingerprint = Fingerprint(p.Flags[i].Stages)
	}
	return p
}

func TestEncodeDecode(t *testing.T) {
	p := validPlan()
	data, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := validPlan().Encode()
	if !bytes.Equal(data, again) {
		t.Error("the same plan encodes to different bytes")
	}
	if !strings.Contains(string(data), `"threshold": "< 0.5%"`) || !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("encoding:\n%s", data)
	}
	back, err := DecodePlan(data)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := back.Encode(); !bytes.Equal(b, data) {
		t.Errorf("round trip:\n%s\nwant\n%s", b, data)
	}
	if _, err := DecodePlan([]byte(`{"environment": "x", "flags": [`)); err == nil || !strings.Contains(err.Error(), "rollout: decode the plan") {
		t.Errorf("truncated JSON: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(p *Plan)
		want   string
	}{
		{"no environment", func(p *Plan) { p.Environment = "" }, "rollout: invalid plan: no environment"},
		{"settings", func(p *Plan) { p.Defaults.Confidence = 1 }, `defaults: confidence 1 is outside [0.5, 1)`},
		{"min samples", func(p *Plan) { p.Flags[0].Settings.MinSamples = 0 }, `flag "a": settings: minSamples 0 is below 1`},
		{"metric name", func(p *Plan) { m := p.Metrics["latency"]; m.Name = "x"; p.Metrics["latency"] = m }, `metrics["latency"]: named "x"`},
		{"provider", func(p *Plan) { m := p.Metrics["latency"]; m.Provider = "datadog"; p.Metrics["latency"] = m }, `metric "latency": unknown provider "datadog"`},
		{"ratio unit", func(p *Plan) { m := p.Metrics["error_rate"]; m.Unit = ""; p.Metrics["error_rate"] = m }, `metric "error_rate": a ratio's unit is %, not ""`},
		{"missing query", func(p *Plan) { delete(p.Metrics["error_rate"].Queries, QueryDenominator) }, `metric "error_rate": a ratio metric needs a denominator query`},
		{"extra query", func(p *Plan) { p.Metrics["error_rate"].Queries[QuerySum] = Query{PromQL: "s"} }, `metric "error_rate": "sum" is not a query of a ratio metric`},
		{"query shape", func(p *Plan) {
			p.Metrics["error_rate"].Queries[QueryNumerator] = Query{CloudWatch: &CloudWatchQuery{Expression: "x"}}
		}, `query numerator: a prometheus query is PromQL only`},
		{"cloudwatch stat", func(p *Plan) {
			p.Metrics["latency"].Queries[QueryValue] = Query{CloudWatch: &CloudWatchQuery{Namespace: "App", MetricName: "L"}}
		}, `query value: a cloudwatch metric needs namespace, metricName and stat`},
		{"flag order", func(p *Plan) { p.Flags[0], p.Flags[1] = p.Flags[1], p.Flags[0] }, `flags out of order or repeated: "a" after "b"`},
		{"same variants", func(p *Plan) { p.Flags[0].OldVariant = "on" }, `flag "a": the new and the old variant are both "on"`},
		{"mixed stages", func(p *Plan) { p.Flags[0].Stages[1] = Stage{Ring: "everyone", Infinite: true} }, `flag "a": stages[1]: stages are all percentages or all rings`},
		{"percentages", func(p *Plan) { p.Flags[0].Stages[1].Percentage = pct(5) }, `flag "a": stages[1]: percentage 5 is not above the previous stage's and at most 100`},
		{"infinity first", func(p *Plan) { p.Flags[1].Stages[0].Infinite, p.Flags[1].Stages[0].Duration = true, 0 }, `flag "b": stages[0]: only the last stage lasts for infinity`},
		{"unknown metric", func(p *Plan) { p.Flags[0].Stages[0].Criteria[0].Metric = "errors" }, `flag "a": stages[0]: criteria[0]: metric "errors" is not among the plan's metrics (error_rate, latency)`},
		{"comparison", func(p *Plan) { p.Flags[0].Stages[0].Criteria[0].Comparison = "==" }, `criteria[0]: unknown comparison "=="`},
		{"onFail", func(p *Plan) { p.Flags[0].Stages[0].Criteria[1].OnFail = "alert" }, `criteria[1]: unknown onFail "alert"`},
		{"NaN", func(p *Plan) { p.Flags[0].Stages[0].Criteria[0].Value = math.NaN() }, `criteria[0]: threshold value NaN is not a finite number`},
		{"fingerprint", func(p *Plan) { p.Flags[0].Fingerprint = "0000000000000000" }, `flag "a": fingerprint "0000000000000000" does not match the stages`},
	}
	if err := validPlan().Validate(); err != nil {
		t.Fatalf("the valid plan: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			tt.break_(p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if _, err := p.Encode(); err == nil {
				t.Error("Encode wrote an invalid plan")
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	p := validPlan()
	fp := Fingerprint(p.Flags[0].Stages)
	if len(fp) != 16 {
		t.Fatalf("fingerprint %q", fp)
	}
	// The threshold as written is for messages: it does not change the fingerprint.
	p.Flags[0].Stages[0].Criteria[0].Threshold = "<0.5%"
	if Fingerprint(p.Flags[0].Stages) != fp {
		t.Error("the threshold text changed the fingerprint")
	}
	p.Flags[0].Stages[0].Duration += Duration(time.Second)
	if Fingerprint(p.Flags[0].Stages) == fp {
		t.Error("a duration change kept the fingerprint")
	}
}
