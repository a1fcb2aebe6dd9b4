// Package instrument labels an application's HTTP metrics and traces with the flag
// variants each request got, so that edgeflag's rollout controller can compare the new
// and the old variant of a flag (error rate, latency).
//
// Variants reach a request two ways:
//
//   - from the edge: the Cloudflare Worker and the Lambda@Edge function forward every
//     request to the origin with one x-flag-<flag key>: <variant> header per flag that
//     evaluated without error (a flag that failed has no header);
//   - from in-process evaluations: Hook, an OpenFeature hook for the Go SDK, records the
//     variant of every successful evaluation in the request's context, when the context
//     passed to the evaluation is the one Metrics.Wrap gave the handler.
//
// Metrics.Wrap is the net/http middleware. For every request that carries at least one
// variant it records, per flag and variant,
//
//	edgeflag_http_requests_total{flag, variant, code}           counter
//	edgeflag_http_request_duration_seconds{flag, variant}       histogram
//
// and counts what it refused to record in edgeflag_http_variants_dropped_total{reason}.
// Requests that carry no variant are not recorded. Label cardinality is bounded: only
// valid edgeflag flag keys and variant names are recorded, optionally only the flags of
// an allow-list, at most Options.MaxVariants distinct flag/variant pairs in all and at
// most Options.MaxFlagsPerRequest flags per request.
//
// Hook also adds a feature_flag.evaluation event with the OpenTelemetry feature-flag
// semantic-convention attributes (feature_flag.key, feature_flag.result.variant,
// feature_flag.provider.name...) to the span active in the evaluation's context.
//
// docs/instrument.md shows how to instrument an application and query the metrics.
package instrument
