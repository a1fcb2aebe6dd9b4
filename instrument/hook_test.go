package instrument_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/instrument"
	edgeflag "github.com/edgeflag/edgeflag/openfeature"
)

// newClient returns an OpenFeature client of an isolated API whose provider is edgeflag's,
// serving the production snapshot of testdata/flags, with the Hook registered API-wide.
func newClient(t testing.TB) *of.Client {
	t.Helper()
	snaps, err := compiler.Compile("testdata/flags", compiler.Options{Revision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	provider := edgeflag.New(edgeflag.Options{Now: func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }})
	provider.Swap(snaps["production"], "test-snapshot")
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), provider); err != nil {
		t.Fatal(err)
	}
	api.AddHooks(instrument.NewHook())
	return api.NewClient()
}

func TestHookSpanEvent(t *testing.T) {
	client := newClient(t)
	beta := of.NewEvaluationContext("user-1", map[string]any{"plan": "beta"})
	pro := of.NewEvaluationContext("user-2", map[string]any{"plan": "pro"})
	tests := []struct {
		name string
		eval func(ctx context.Context)
		want map[string]string // the event's attributes, formatted with Value.Emit
	}{
		{
			"boolean, rule",
			func(ctx context.Context) { client.Boolean(ctx, "new-checkout", false, beta) },
			map[string]string{
				"feature_flag.key":            "new-checkout",
				"feature_flag.provider.name":  "edgeflag",
				"feature_flag.result.variant": "on",
				"feature_flag.result.reason":  "targeting_match",
				"feature_flag.context.id":     "user-1",
			},
		},
		{
			"string, default",
			func(ctx context.Context) { client.String(ctx, "button-color", "#000000", beta) },
			map[string]string{
				"feature_flag.key":            "button-color",
				"feature_flag.provider.name":  "edgeflag",
				"feature_flag.result.variant": "blue",
				"feature_flag.result.reason":  "default",
				"feature_flag.context.id":     "user-1",
			},
		},
		{
			"type mismatch",
			func(ctx context.Context) { client.Boolean(ctx, "button-color", true, pro) },
			map[string]string{
				"feature_flag.key":           "button-color",
				"feature_flag.provider.name": "edgeflag",
				"feature_flag.result.value":  "true", // the default, as there is no variant
				"feature_flag.result.reason": "error",
				"feature_flag.context.id":    "user-2",
				"error.type":                 "type_mismatch",
				"error.message":              "flag is string, not boolean",
			},
		},
		{
			"not found",
			func(ctx context.Context) { client.Int(ctx, "nope", 7, pro) },
			map[string]string{
				"feature_flag.key":           "nope",
				"feature_flag.provider.name": "edgeflag",
				"feature_flag.result.value":  "7",
				"feature_flag.result.reason": "error",
				"feature_flag.context.id":    "user-2",
				"error.type":                 "flag_not_found",
				"error.message":              "flag not found",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			ctx, span := tp.Tracer("test").Start(context.Background(), "request")
			tt.eval(ctx)
			span.End()
			spans := exp.GetSpans()
			if len(spans) != 1 || len(spans[0].Events) != 1 {
				t.Fatalf("spans %+v, want one with one event", spans)
			}
			ev := spans[0].Events[0]
			if ev.Name != "feature_flag.evaluation" {
				t.Errorf("event %q, want feature_flag.evaluation", ev.Name)
			}
			got := map[string]string{}
			for _, kv := range ev.Attributes {
				got[string(kv.Key)] = kv.Value.String()
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("attributes\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// Without a span, or with one that does not record, the hook adds nothing and still
// records the variant for the request.
func TestHookWithoutSpan(t *testing.T) {
	client := newClient(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.NeverSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	m, reg := newMetrics(t, instrument.Options{})
	h := m.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("test").Start(r.Context(), "request")
		defer span.End()
		client.Boolean(ctx, "new-checkout", false, of.NewEvaluationContext("user-1", nil))
	}))
	get(h, nil)
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("exported %d spans", len(spans))
	}
	want := map[string]float64{"code=200,flag=new-checkout,variant=off": 1}
	if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	// Outside a request: nothing to record into, nothing fails.
	if v := client.Boolean(context.Background(), "new-checkout", false, of.NewEvaluationContext("user-1", nil)); v {
		t.Error("new-checkout on for a user without plan")
	}
}

// A handler evaluating in process, behind an edge that sent headers for other flags: the
// request is labelled with both, the in-process variant winning for a flag in both.
func TestHookLabelsRequestMetrics(t *testing.T) {
	client := newClient(t)
	m, reg := newMetrics(t, instrument.Options{})
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := of.NewEvaluationContext(r.Header.Get("X-User-Id"), map[string]any{"plan": r.URL.Query().Get("plan")})
		ctx := r.Context()
		if !client.Boolean(ctx, "new-checkout", false, user) {
			w.WriteHeader(http.StatusInternalServerError) // the old checkout is broken
		}
		client.String(ctx, "button-color", "#000000", user)
		client.Boolean(ctx, "button-color", false, user) // a failed evaluation records nothing
		// Nor does one that a hook fails after the provider answered "on": the app gets
		// the default, and the request keeps the variant it got before.
		beta := of.NewEvaluationContext("beta-tester", map[string]any{"plan": "beta"})
		if client.Boolean(ctx, "new-checkout", false, beta, of.WithHooks(failingAfter{})) {
			t.Error("a failed evaluation returned true")
		}
	}))
	for i, plan := range []string{"beta", "pro", "free", "beta"} {
		r := httptest.NewRequest(http.MethodGet, "/checkout?plan="+plan, nil)
		r.Header.Set("X-User-Id", fmt.Sprint("user-", i))
		r.Header.Set("X-Flag-New-Checkout", "edge-says-off") // overridden by the evaluation
		r.Header.Set("X-Flag-Search", "v2")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := map[string]float64{
		"code=200,flag=new-checkout,variant=on":    2,
		"code=500,flag=new-checkout,variant=off":   2,
		"code=200,flag=button-color,variant=blue":  2,
		"code=500,flag=button-color,variant=blue":  1,
		"code=500,flag=button-color,variant=green": 1,
		"code=200,flag=search,variant=v2":          2,
		"code=500,flag=search,variant=v2":          2,
	}
	if got := samples(t, reg, instrument.RequestsMetric); !maps.Equal(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	wantDuration := map[string]float64{
		"flag=new-checkout,variant=on": 2, "flag=new-checkout,variant=off": 2,
		"flag=button-color,variant=blue": 3, "flag=button-color,variant=green": 1,
		"flag=search,variant=v2": 4,
	}
	if got := samples(t, reg, instrument.DurationMetric); !maps.Equal(got, wantDuration) {
		t.Errorf("duration counts = %v, want %v", got, wantDuration)
	}
	wantDropped := map[string]float64{"reason=invalid": 0, "reason=limit": 0, "reason=request_limit": 0}
	if got := samples(t, reg, instrument.DroppedMetric); !maps.Equal(got, wantDropped) {
		t.Errorf("dropped = %v, want %v", got, wantDropped)
	}
}

// failingAfter is a hook whose After fails.
type failingAfter struct{ of.UnimplementedHook }

func (failingAfter) After(context.Context, of.HookContext, of.InterfaceEvaluationDetails, of.HookHints) error {
	return errors.New("after hook failed")
}
