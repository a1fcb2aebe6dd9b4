// Package openfeature is an in-process OpenFeature provider for the Go SDK
// (github.com/open-feature/go-sdk): flags are evaluated in the application's own process by
// the native evaluator, against the snapshot a store poller keeps current. There is no
// network call per evaluation.
//
// The provider does not fetch snapshots itself. Whatever keeps them current — the store
// poller, a test, a directory watcher — drives it with Swap (or Load), MarkStale, Fail and
// Fresh, or sends Updates on a channel given to Follow. The provider turns those into
// OpenFeature provider events:
//
//	first snapshot            → PROVIDER_READY (Init returns; the SDK emits it)
//	another snapshot          → PROVIDER_CONFIGURATION_CHANGED, with the keys of the flags that changed
//	MarkStale                 → PROVIDER_STALE; evaluations report reason STALE
//	Fail                      → PROVIDER_ERROR; the last good snapshot keeps being served
//	Fresh or a new snapshot   → PROVIDER_READY again after STALE or ERROR
//
// Evaluation contexts are converted by package ofconv: nested attributes are flattened
// with dots and targetingKey doubles as userId.
//
// Import it next to the SDK under another name, for example:
//
//	import (
//		of "github.com/open-feature/go-sdk/openfeature"
//		edgeflag "github.com/edgeflag/edgeflag/openfeature"
//	)
package openfeature

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/openfeature/ofconv"
	"github.com/edgeflag/edgeflag/snapshot"
)

// ReasonStale is OpenFeature's STALE reason, which the Go SDK has no constant for.
const ReasonStale of.Reason = "STALE"

// Options configure a Provider. The zero value is ready to use.
type Options struct {
	// Name is the provider name in OpenFeature metadata (default "edgeflag").
	Name string
	// Now returns the time of evaluation (default time.Now).
	Now func() time.Time
	// InitTimeout bounds how long Init waits for the first snapshot (default 30s; the
	// context given to InitWithContext can end it sooner). After a timeout the provider
	// is in ERROR and announces READY when the first snapshot arrives.
	InitTimeout time.Duration
	// EventBuffer is the capacity of the event channel (default 64). Events that find it
	// full are dropped; the SDK drains it continuously once the provider is registered.
	EventBuffer int
}

// Provider is an OpenFeature FeatureProvider, StateHandler (context-aware) and
// EventHandler backed by the native evaluator. It is safe for concurrent use.
type Provider struct {
	opts   Options
	cur    atomic.Pointer[loaded]
	stale  atomic.Bool
	events chan of.Event
	ready  chan struct{} // closed by the first snapshot
	done   chan struct{} // closed by Shutdown
	pool   sync.Pool     // *evaluator.Context

	mu         sync.Mutex // orders state changes and their events
	status     of.State
	live       bool   // Init has returned: events go to the SDK
	initFailed bool   // Init gave up before the first snapshot
	lastErr    string // the last failure, for Init's error
	shutOnce   sync.Once
}

// loaded is a snapshot being served.
type loaded struct {
	eval   *evaluator.Evaluator
	snap   *snapshot.Snapshot
	hash   string
	prints map[string]string // flag key → fingerprint, for CONFIGURATION_CHANGED
}

var (
	_ of.FeatureProvider          = (*Provider)(nil)
	_ of.ContextAwareStateHandler = (*Provider)(nil)
	_ of.EventHandler             = (*Provider)(nil)
)

// New returns a provider with no snapshot: register it with the SDK and drive it with
// Swap, Load or Follow. Evaluations before the first snapshot report PROVIDER_NOT_READY.
func New(opts Options) *Provider {
	if opts.Name == "" {
		opts.Name = "edgeflag"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = 30 * time.Second
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 64
	}
	p := &Provider{
		opts:   opts,
		events: make(chan of.Event, opts.EventBuffer),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		status: of.NotReadyState,
	}
	p.pool.New = func() any { return evaluator.NewContext() }
	return p
}

// Metadata implements of.FeatureProvider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: p.opts.Name} }

// Hooks implements of.FeatureProvider; the provider has none.
func (p *Provider) Hooks() []of.Hook { return nil }

// BooleanEvaluation implements of.FeatureProvider for boolean flags.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, defaultValue bool, flatCtx of.FlattenedContext) of.BoolResolutionDetail {
	v, detail := resolveAs(p, flag, snapshot.TypeBoolean, flatCtx, defaultValue, func(r *evaluator.Result) (bool, bool) {
		v, _ := r.Bool() // a boolean flag's values are true or false
		return v, true
	})
	return of.BoolResolutionDetail{Value: v, ProviderResolutionDetail: detail}
}

// StringEvaluation implements of.FeatureProvider for string flags.
func (p *Provider) StringEvaluation(_ context.Context, flag string, defaultValue string, flatCtx of.FlattenedContext) of.StringResolutionDetail {
	v, detail := resolveAs(p, flag, snapshot.TypeString, flatCtx, defaultValue, (*evaluator.Result).String)
	return of.StringResolutionDetail{Value: v, ProviderResolutionDetail: detail}
}

// FloatEvaluation implements of.FeatureProvider for number flags.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, defaultValue float64, flatCtx of.FlattenedContext) of.FloatResolutionDetail {
	v, detail := resolveAs(p, flag, snapshot.TypeNumber, flatCtx, defaultValue, (*evaluator.Result).Number)
	return of.FloatResolutionDetail{Value: v, ProviderResolutionDetail: detail}
}

// IntEvaluation implements of.FeatureProvider for number flags whose value is a whole
// number; other values are a TYPE_MISMATCH.
func (p *Provider) IntEvaluation(_ context.Context, flag string, defaultValue int64, flatCtx of.FlattenedContext) of.IntResolutionDetail {
	f, detail := resolveAs(p, flag, snapshot.TypeNumber, flatCtx, float64(defaultValue), (*evaluator.Result).Number)
	if detail.Error() != nil {
		return of.IntResolutionDetail{Value: defaultValue, ProviderResolutionDetail: detail}
	}
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return of.IntResolutionDetail{Value: defaultValue, ProviderResolutionDetail: of.ProviderResolutionDetail{
			ResolutionError: of.NewTypeMismatchResolutionError("flag " + strconv.Quote(flag) + " is " + strconv.FormatFloat(f, 'g', -1, 64) + ", not an integer"),
			Reason:          of.ErrorReason,
			Variant:         detail.Variant,
			FlagMetadata:    detail.FlagMetadata,
		}}
	}
	return of.IntResolutionDetail{Value: int64(f), ProviderResolutionDetail: detail}
}

// ObjectEvaluation implements of.FeatureProvider for json flags: the value is decoded
// into map[string]any, []any or a scalar, as encoding/json does.
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, defaultValue any, flatCtx of.FlattenedContext) of.InterfaceResolutionDetail {
	v, detail := resolveAs(p, flag, snapshot.TypeJSON, flatCtx, defaultValue, func(r *evaluator.Result) (any, bool) {
		var v any
		err := json.Unmarshal([]byte(r.Value), &v)
		return v, err == nil
	})
	return of.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: detail}
}

// resolveAs evaluates flag as type want and reads its value with value. On an error, or
// a value that value cannot read (a PARSE_ERROR), it returns defaultValue.
func resolveAs[T any](p *Provider, flag string, want snapshot.ValueType, flatCtx of.FlattenedContext, defaultValue T, value func(*evaluator.Result) (T, bool)) (T, of.ProviderResolutionDetail) {
	r, detail := p.evaluate(flag, want, flatCtx)
	if detail.Error() != nil {
		return defaultValue, detail
	}
	v, ok := value(&r)
	if !ok {
		return defaultValue, parseError(flag, r.Value)
	}
	return v, detail
}

// evaluate evaluates flag key as type want and returns the result and its resolution
// details (with a ResolutionError when it failed).
func (p *Provider) evaluate(key string, want snapshot.ValueType, flat of.FlattenedContext) (evaluator.Result, of.ProviderResolutionDetail) {
	st := p.cur.Load()
	if st == nil {
		return evaluator.Result{}, of.ProviderResolutionDetail{
			ResolutionError: of.NewProviderNotReadyResolutionError("no snapshot loaded yet"),
			Reason:          of.ErrorReason,
		}
	}
	ctx := p.pool.Get().(*evaluator.Context)
	defer p.pool.Put(ctx)
	if err := ofconv.Fill(ctx, flat); err != nil {
		return evaluator.Result{}, of.ProviderResolutionDetail{
			ResolutionError: of.NewInvalidContextResolutionError(err.Error()),
			Reason:          of.ErrorReason,
			FlagMetadata:    of.FlagMetadata{ofconv.MetaSnapshot: st.hash},
		}
	}
	r := st.eval.EvaluateAs(key, want, ctx, p.opts.Now())
	var fields [10]ofconv.Field
	meta := of.FlagMetadata{}
	for _, f := range ofconv.AppendMetadata(fields[:0], &r, st.hash) {
		meta[f.Key] = f.Value
	}
	if r.Reason == evaluator.ReasonError {
		return r, of.ProviderResolutionDetail{
			ResolutionError: resolutionError(r.Error, r.Message),
			Reason:          of.ErrorReason,
			FlagMetadata:    meta,
		}
	}
	reason := of.Reason(r.Reason)
	if p.stale.Load() {
		meta[ofconv.MetaReason] = string(r.Reason)
		meta[ofconv.MetaStale] = true
		reason = ReasonStale
	}
	return r, of.ProviderResolutionDetail{Reason: reason, Variant: r.Variant, FlagMetadata: meta}
}

func resolutionError(code evaluator.ErrorCode, msg string) of.ResolutionError {
	switch code {
	case evaluator.ErrFlagNotFound:
		return of.NewFlagNotFoundResolutionError(msg)
	case evaluator.ErrTypeMismatch:
		return of.NewTypeMismatchResolutionError(msg)
	case evaluator.ErrTargetingKeyMissing:
		return of.NewTargetingKeyMissingResolutionError(msg + " (set a targeting key, or the attribute itself)")
	case evaluator.ErrParse:
		return of.NewParseErrorResolutionError(msg)
	case evaluator.ErrInvalidContext:
		return of.NewInvalidContextResolutionError(msg)
	}
	return of.NewGeneralResolutionError(string(code) + ": " + msg)
}

func parseError(flag, value string) of.ProviderResolutionDetail {
	return of.ProviderResolutionDetail{
		ResolutionError: of.NewParseErrorResolutionError("flag " + strconv.Quote(flag) + " has an unreadable value " + value),
		Reason:          of.ErrorReason,
	}
}
