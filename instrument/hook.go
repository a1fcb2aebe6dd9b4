package instrument

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// EvaluationEvent is the name of the span event Hook adds for every evaluation, as the
// OpenTelemetry feature-flag semantic conventions name it.
const EvaluationEvent = telemetry.FlagEvaluationKey // "feature_flag.evaluation"

// Hook is an OpenFeature hook (github.com/open-feature/go-sdk) that, after every flag
// evaluation:
//
//   - adds an EvaluationEvent event to the span active in the evaluation's context, when
//     it is recording, with the semantic-convention attributes of OpenFeature's Appendix
//     D: feature_flag.key, feature_flag.provider.name, feature_flag.result.reason
//     (lower case), feature_flag.result.variant (or feature_flag.result.value when there
//     is no variant), feature_flag.context.id (the targeting key) and, for failed
//     evaluations, error.type (the error code, lower case) and error.message;
//   - records the variant of a successful evaluation with RecordVariant (in After), so that
//     Metrics.Wrap labels the request's metrics with it. Pass the handler's request
//     context (or one derived from it) to the evaluation for this to happen.
//
// Register it once for every client (of.AddHooks(instrument.NewHook())), on a client, or
// per evaluation. It keeps no state and is safe for concurrent use.
type Hook struct {
	of.UnimplementedHook
}

var _ of.Hook = (*Hook)(nil)

// NewHook returns a Hook.
func NewHook() *Hook { return &Hook{} }

// After runs after a successful evaluation (the SDK skips it when the provider or a
// hook failed, including the After of a hook registered closer to the evaluation): it
// records the variant for the request's metrics.
func (h *Hook) After(ctx context.Context, hc of.HookContext, details of.InterfaceEvaluationDetails, _ of.HookHints) error {
	if details.Variant != "" {
		RecordVariant(ctx, hc.FlagKey(), details.Variant)
	}
	return nil
}

// Finally runs after every evaluation, successful or not: it adds the evaluation event to
// the active span.
func (h *Hook) Finally(ctx context.Context, hc of.HookContext, details of.InterfaceEvaluationDetails, _ of.HookHints) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	ev := telemetry.CreateEvaluationEvent(hc, details)
	span.AddEvent(ev.Name, trace.WithAttributes(eventAttributes(ev.Attributes)...))
}

// eventAttributes converts the attributes of an evaluation event, in key order.
func eventAttributes(m map[string]any) []attribute.KeyValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]attribute.KeyValue, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, attributeOf(k, m[k]))
	}
	return attrs
}

// attributeOf converts one attribute value: strings, booleans and numbers as they are,
// anything else (an object flag's value) as JSON.
func attributeOf(k string, v any) attribute.KeyValue {
	switch v := v.(type) {
	case string:
		return attribute.String(k, v)
	case bool:
		return attribute.Bool(k, v)
	case int:
		return attribute.Int(k, v)
	case int64:
		return attribute.Int64(k, v)
	case float64:
		return attribute.Float64(k, v)
	}
	if b, err := json.Marshal(v); err == nil {
		return attribute.String(k, string(b))
	}
	return attribute.String(k, fmt.Sprint(v))
}
