package rollout

import (
	"encoding/json"
	"time"
)

// Plan is one environment's rollout plan: the metrics the project defines and every flag
// that has stages. The compiler writes it next to the base snapshot (publish stores it as
// a content-addressed object); the controller reads it. It is JSON so that it stays
// readable in the store.
type Plan struct {
	Environment string `json:"environment"`
	// Metrics are the definitions of the metrics the flags' criteria name, by name (a
	// metric of the project that no criterion names is left out).
	Metrics map[string]Metric `json:"metrics"`
	// Defaults are the project's rollout settings (`rollouts:` in project.yaml), with the
	// built-in defaults filled in.
	Defaults Settings `json:"defaults"`
	// Flags are the flags with stages, sorted by key.
	Flags []FlagPlan `json:"flags"`
}

// Settings tune the decisions.
type Settings struct {
	// MinSamples is the number of requests each group (new and old variant) needs in a
	// stage before any criterion is decided. Default DefaultMinSamples.
	MinSamples int64 `json:"minSamples"`
	// Confidence is 1 - the false rollback rate allowed over a whole rollout (all stages
	// and criteria together). Default DefaultConfidence.
	Confidence float64 `json:"confidence"`
}

// Built-in defaults of Settings.
const (
	DefaultMinSamples = 500
	DefaultConfidence = 0.95
)

// Metric kinds: what the queries of a metric return per variant.
const (
	// KindRatio: `numerator` and `denominator` are counts over the window (errors and
	// requests, conversions and impressions); the metric is their ratio, decided with a
	// sequential test on proportions.
	KindRatio = "ratio"
	// KindMean: `sum`, `count` and optionally `sumOfSquares` over the window; the metric
	// is sum/count, decided with a sequential test on means (without sumOfSquares the
	// variance is taken as the mean's square, i.e. a coefficient of variation of 1).
	KindMean = "mean"
	// KindValue: `value` is the metric itself (a quantile, a gauge) and `count` the
	// number of requests behind it; it is compared with its threshold once both groups
	// have MinSamples, and must fail on two consecutive checks to fail the stage.
	KindValue = "value"
)

// Query roles, the keys of Metric.Queries.
const (
	QueryNumerator    = "numerator"
	QueryDenominator  = "denominator"
	QuerySum          = "sum"
	QueryCount        = "count"
	QuerySumOfSquares = "sumOfSquares"
	QueryValue        = "value"
)

// Providers.
const (
	ProviderPrometheus = "prometheus"
	ProviderCloudWatch = "cloudwatch"
)

// Directions.
const (
	LowerIsBetter  = "lowerIsBetter"
	HigherIsBetter = "higherIsBetter"
)

// Metric is a named metric as the project defines it.
type Metric struct {
	Name     string `json:"name"`
	Provider string `json:"provider"` // ProviderPrometheus or ProviderCloudWatch
	Kind     string `json:"kind"`     // KindRatio, KindMean or KindValue
	// Unit is how values of the metric are expressed: "%" for a ratio (values are
	// fractions, thresholds written in percent are divided by 100), "ms", "s", or "" for
	// a plain number. Threshold values in a Plan are already in this unit's base: a
	// fraction for "%", milliseconds for "ms", seconds for "s".
	Unit      string           `json:"unit"`
	Direction string           `json:"direction"` // LowerIsBetter or HigherIsBetter
	Queries   map[string]Query `json:"queries"`   // by role (QueryNumerator, ...)
}

// Query is one query of a metric, for its provider. Templates may contain the
// placeholders {{flag}}, {{environment}}, {{variant}} and {{window}} (a Prometheus range
// such as 1800s). A query without {{variant}} must return one series per variant,
// labelled `variant`; with it, the provider runs it once per variant.
type Query struct {
	PromQL     string           `json:"promql,omitempty"`
	CloudWatch *CloudWatchQuery `json:"cloudwatch,omitempty"`
}

// CloudWatchQuery is a CloudWatch metric (or a metric math Expression) with placeholders
// in its dimension values and expression. The variant is usually a dimension
// (`variant: "{{variant}}"`). The provider asks GetMetricData for one value over the
// whole window (the period is the window).
type CloudWatchQuery struct {
	Namespace  string            `json:"namespace,omitempty"`
	MetricName string            `json:"metricName,omitempty"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Stat       string            `json:"stat,omitempty"` // Sum, Average, p99, ...
	Expression string            `json:"expression,omitempty"`
}

// FlagPlan is the rollout plan of one flag in one environment.
type FlagPlan struct {
	Flag string `json:"flag"`
	// Fingerprint identifies the stages and their criteria: when it changes, the rollout
	// adapts (see State).
	Fingerprint string `json:"fingerprint"`
	// NewVariant is the variant being rolled out; OldVariant is the baseline (the flag's
	// offVariant), the control group criteria with `baseline` compare against.
	NewVariant string   `json:"newVariant"`
	OldVariant string   `json:"oldVariant"`
	Settings   Settings `json:"settings"`
	Stages     []Stage  `json:"stages"`
	// File and Line locate the flag's `stages` in git, for messages.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Stage is one step of a rollout: a percentage of the flag's fallthrough rollout, or a
// ring of the project's ladder, held for Duration while every criterion holds.
type Stage struct {
	// Percentage is set for a percentage stage (0 < p <= 100).
	Percentage *float64 `json:"percentage,omitempty"`
	// Ring is set for a ring stage (`ring: canary`).
	Ring     string      `json:"ring,omitempty"`
	Duration Duration    `json:"duration"` // 0 with Infinite
	Infinite bool        `json:"infinite,omitempty"`
	Criteria []Criterion `json:"criteria,omitempty"`
}

// OnFail actions of a criterion.
const (
	OnFailRollback = "rollback" // the default: serve the old variant to everyone, alert
	OnFailPause    = "pause"    // hold the current stage, alert
)

// Criterion is one success criterion of a stage.
type Criterion struct {
	Metric string `json:"metric"`
	// Threshold as written, for messages: "< 0.5%", ">= baseline * 0.95".
	Threshold  string `json:"threshold"`
	Comparison string `json:"comparison"` // <, <=, >, >=
	// Value is the threshold in the metric's unit base (a fraction for "%"), or the
	// multiplier of the baseline when Baseline.
	Value    float64 `json:"value"`
	Baseline bool    `json:"baseline,omitempty"`
	OnFail   string  `json:"onFail"` // OnFailRollback or OnFailPause
}

// Duration is a time.Duration written in JSON as milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration in milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Milliseconds())
}

// UnmarshalJSON reads milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	*d = Duration(time.Duration(ms) * time.Millisecond)
	return nil
}

func timeDuration(d Duration) time.Duration { return time.Duration(d) }
