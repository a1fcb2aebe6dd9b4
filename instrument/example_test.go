package instrument_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/instrument"
	edgeflag "github.com/edgeflag/edgeflag/openfeature"
)

// printMetrics prints the lines of the registry's /metrics page that start with prefix.
func printMetrics(reg *prometheus.Registry, prefix string) {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			fmt.Println(sc.Text())
		}
	}
}

// An application behind an edgeflag edge (Cloudflare Worker, Lambda@Edge) wraps its
// handler: every request is counted and timed per variant of the x-flag-* headers the
// edge added.
func ExampleMetrics_Wrap() {
	reg := prometheus.NewRegistry() // applications usually keep the default registry
	metrics, err := instrument.New(instrument.Options{Registerer: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	checkout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Flag-New-Checkout-Flow") == "on" {
			http.Error(w, "new checkout failed", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux := http.NewServeMux()
	mux.Handle("/checkout", metrics.Wrap(checkout))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// Requests as the edge forwards them to the origin.
	for _, variant := range []string{"on", "off", "off"} {
		r := httptest.NewRequest(http.MethodGet, "/checkout", nil)
		r.Header.Set("x-flag-new-checkout-flow", variant)
		mux.ServeHTTP(httptest.NewRecorder(), r)
	}
	printMetrics(reg, "edgeflag_http_requests_total{")
	// Output:
	// edgeflag_http_requests_total{code="200",flag="new-checkout-flow",variant="off"} 2
	// edgeflag_http_requests_total{code="500",flag="new-checkout-flow",variant="on"} 1
}

// Options bound what is recorded: only the flags of an allow-list, at most MaxVariants
// flag/variant pairs in all, with buckets of one's own.
func ExampleNew() {
	reg := prometheus.NewRegistry()
	metrics, err := instrument.New(instrument.Options{
		Registerer:  reg,
		Flags:       []string{"new-checkout-flow", "checkout-button-color"},
		MaxVariants: 20,
		Buckets:     []float64{0.05, 0.1, 0.25, 0.5, 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := metrics.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("x-flag-new-checkout-flow", "on")
	r.Header.Set("x-flag-dark-mode", "on") // not in the allow-list
	h.ServeHTTP(httptest.NewRecorder(), r)
	printMetrics(reg, "edgeflag_http_requests_total{")

	_, err = instrument.New(instrument.Options{Registerer: prometheus.NewRegistry(), Flags: []string{"New Checkout"}})
	fmt.Println(err)
	// Output:
	// edgeflag_http_requests_total{code="200",flag="new-checkout-flow",variant="on"} 1
	// instrument: Flags: "New Checkout" is not a flag key (lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)
}

// An application evaluating flags in process with edgeflag's OpenFeature provider adds
// the hook: each evaluation becomes a feature_flag.evaluation event on the active span,
// and labels the metrics of the request whose context it was given.
func ExampleNewHook() {
	// The provider, serving a compiled snapshot (in production the store poller keeps it
	// current; see package openfeature).
	snaps, err := compiler.Compile("testdata/flags", compiler.Options{Revision: "example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := edgeflag.New(edgeflag.Options{})
	provider.Swap(snaps["production"], "example")

	api := isolated.NewAPI() // applications usually call of.SetProviderAndWait and of.AddHooks
	defer func() { _ = api.Shutdown(context.Background()) }()
	if err := api.SetProviderAndWait(context.Background(), provider); err != nil {
		fmt.Println(err)
		return
	}
	api.AddHooks(instrument.NewHook()) // of.AddHooks(instrument.NewHook()) for the global API
	client := api.NewClient()

	// Tracing, here into memory; usually an OTLP exporter behind otelhttp.
	spans := tracetest.NewInMemoryExporter()
	tracing := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer func() { _ = tracing.Shutdown(context.Background()) }()

	reg := prometheus.NewRegistry()
	metrics, err := instrument.New(instrument.Options{Registerer: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	checkout := metrics.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracing.Tracer("shop").Start(r.Context(), "checkout")
		defer span.End()
		user := of.NewEvaluationContext(r.Header.Get("X-User-Id"), map[string]any{"plan": "beta"})
		if client.Boolean(ctx, "new-checkout", false, user) { // ctx descends from r.Context()
			_, _ = io.WriteString(w, "new checkout")
		}
	}))

	r := httptest.NewRequest(http.MethodGet, "/checkout", nil)
	r.Header.Set("X-User-Id", "user-1")
	checkout.ServeHTTP(httptest.NewRecorder(), r)

	for _, ev := range spans.GetSpans()[0].Events {
		fmt.Println(ev.Name)
		for _, kv := range ev.Attributes {
			fmt.Printf("  %s=%s\n", kv.Key, kv.Value.String())
		}
	}
	printMetrics(reg, "edgeflag_http_requests_total{")
	// Output:
	// feature_flag.evaluation
	//   feature_flag.context.id=user-1
	//   feature_flag.key=new-checkout
	//   feature_flag.provider.name=edgeflag
	//   feature_flag.result.reason=targeting_match
	//   feature_flag.result.variant=on
	// edgeflag_http_requests_total{code="200",flag="new-checkout",variant="on"} 1
}

// A handler that picks a variant by other means records it itself.
func ExampleRecordVariant() {
	reg := prometheus.NewRegistry()
	metrics, err := instrument.New(instrument.Options{Registerer: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	search := metrics.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		algorithm := "bm25"
		if strings.HasSuffix(r.Header.Get("X-User-Id"), "7") {
			algorithm = "vector"
		}
		instrument.RecordVariant(r.Context(), "search-algorithm", algorithm)
		_, _ = io.WriteString(w, algorithm)
	}))
	for _, user := range []string{"user-1", "user-7", "user-2"} {
		r := httptest.NewRequest(http.MethodGet, "/search?q=shoes", nil)
		r.Header.Set("X-User-Id", user)
		search.ServeHTTP(httptest.NewRecorder(), r)
	}
	printMetrics(reg, "edgeflag_http_request_duration_seconds_count")
	// Output:
	// edgeflag_http_request_duration_seconds_count{flag="search-algorithm",variant="bm25"} 2
	// edgeflag_http_request_duration_seconds_count{flag="search-algorithm",variant="vector"} 1
}
