package rollout

import (
	"context"
	"errors"
	"time"
)

// Provider reads metric values from a monitoring system. Implementations live in
// subpackages (rollout/prometheus, rollout/cloudwatch) and are safe for concurrent use.
type Provider interface {
	// Query runs one query of a metric over the window that ends at r.End and returns
	// the value for each variant it found. A variant with no data is absent from the
	// map (not zero). An unreachable provider or a bad query is an error that says which.
	Query(ctx context.Context, r Request) (map[string]float64, error)
}

// Request is one query to run.
type Request struct {
	Metric      string // the metric's name, for messages
	Query       Query  // the query of the provider's kind
	Flag        string
	Environment string
	Variants    []string // the variants wanted (new and old)
	Window      time.Duration
	End         time.Time
}

// ErrNoProvider: a metric names a provider the controller was not configured with.
var ErrNoProvider = errors.New("no metric provider configured")

// noProviderError is ErrNoProvider for one provider, with how to configure it.
type noProviderError struct{ provider string }

func (e noProviderError) Error() string {
	return "no " + e.provider + " provider configured (" + providerHint[e.provider] + ")"
}

func (e noProviderError) Is(target error) bool { return target == ErrNoProvider }

// providerHint says how a provider is configured, for the error of a missing one.
var providerHint = map[string]string{
	ProviderPrometheus: "set EDGEFLAG_PROMETHEUS_URL",
	ProviderCloudWatch: "set EDGEFLAG_CLOUDWATCH_REGION",
}

// Expand replaces the placeholders of a query template: {{flag}}, {{environment}},
// {{variant}} and {{window}} (whole seconds, Prometheus range syntax: "1800s").
func Expand(template string, r Request, variant string) string {
	return expand(template, map[string]string{
		"flag":        r.Flag,
		"environment": r.Environment,
		"variant":     variant,
		"window":      promRange(r.Window),
	})
}
