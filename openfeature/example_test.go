package openfeature_test

import (
	"context"
	"fmt"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/edgeflag/edgeflag/compiler"
	edgeflag "github.com/edgeflag/edgeflag/openfeature"
	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/snapshot"
)

// An application evaluates flags in process: the store poller keeps the provider's
// snapshot current and the OpenFeature SDK asks the provider.
func Example() {
	// A store serving the example project's production snapshot. In production the
	// poller reads the CloudFront distribution in front of the S3 bucket instead.
	snaps, err := compiler.Compile("../flags", compiler.Options{Revision: "example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	store := storetest.New()
	defer store.Close()
	store.Publish("production", snapshot.Encode(snaps["production"]))

	noon := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	provider := edgeflag.New(edgeflag.Options{Now: func() time.Time { return noon }})
	poll, _ := poller.New(poller.Config{
		BaseURL:     store.URL,
		Environment: "production",
		Apply:       func(data []byte, _ poller.Pointer) error { return provider.LoadVerified(data) },
		OnStale: func(stale bool) {
			if stale {
				provider.MarkStale(nil)
			} else {
				provider.Fresh()
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = poll.Run(ctx) }()

	api := isolated.NewAPI() // applications usually call of.SetProviderAndWait
	defer func() { _ = api.Shutdown(context.Background()) }()
	if err := api.SetProviderAndWait(ctx, provider); err != nil { // waits for the first snapshot
		fmt.Println(err)
		return
	}
	client := api.NewClient()

	user := of.NewEvaluationContext("user-3003", map[string]any{"email": "user-3003@example.org"})
	search, _ := client.BooleanValueDetails(ctx, "new-search-algorithm", false, user)
	fmt.Println(search.Value, search.Variant, search.Reason, search.FlagMetadata["ring"], search.FlagMetadata["bucket"])
	color, _ := client.StringValueDetails(ctx, "checkout-button-color", "#000000", user)
	fmt.Println(color.Value, color.Variant, color.Reason)
	_, err = client.BooleanValueDetails(ctx, "checkout-button-color", false, user)
	fmt.Println(err)
	// Output:
	// true on TARGETING_MATCH canary 37835
	// #1463ff blue SPLIT
	// error code: TYPE_MISMATCH: flag is string, not boolean
}

// Swapping in another snapshot announces the flags it changes.
func ExampleProvider_Swap() {
	snaps, err := compiler.Compile("../flags", compiler.Options{Revision: "example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	first := snaps["production"]
	provider := edgeflag.New(edgeflag.Options{})
	provider.Swap(first, "first")

	api := isolated.NewAPI()
	defer func() { _ = api.Shutdown(context.Background()) }()
	changed := make(chan []string, 1)
	onChange := func(d of.EventDetails) { changed <- d.FlagChanges }
	api.AddHandler(of.ProviderConfigChange, &onChange)
	if err := api.SetProviderAndWait(context.Background(), provider); err != nil {
		fmt.Println(err)
		return
	}

	// Kill weather-widget, as the kill-switch Lambda does, and serve the result.
	data := snapshot.Encode(first)
	killed, _ := snapshot.Decode(data)
	killed.Flags[killed.FlagIndex("weather-widget")].Killed = true
	killedData := snapshot.Encode(killed)
	hash, _ := snapshot.Hash(killedData)
	provider.Swap(killed, hash)

	fmt.Println(<-changed)
	// Output: [weather-widget]
}
