package openfeature

import (
	"context"
	"slices"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/snapshot"
)

// TestDrivenByThePoller runs the provider behind the real store poller, polling an HTTP
// store on 127.0.0.1: publishing, an outage longer than the grace period and the recovery
// become READY, CONFIGURATION_CHANGED, STALE and READY.
func TestDrivenByThePoller(t *testing.T) {
	s, _, data := exampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	store.Publish("production", data)

	p := New(Options{Now: func() time.Time { return noon }, InitTimeout: 10 * time.Second})
	poll, err := poller.New(poller.Config{
		BaseURL: store.URL, Environment: "production",
		Interval: 10 * time.Millisecond, Grace: 150 * time.Millisecond, Timeout: time.Second,
		Apply: func(data []byte, _ poller.Pointer) error { return p.LoadVerified(data) },
		OnStale: func(stale bool) {
			if stale {
				p.MarkStale(nil)
			} else {
				p.Fresh()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = poll.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	client, api, err := registered(t, p)
	if err != nil {
		t.Fatal(err)
	}
	ev := record(api)
	ev.next(t, of.ProviderReady) // replayed on registration
	v, err := client.BooleanValue(context.Background(), "new-search-algorithm", false, of.NewEvaluationContext("user-3003", nil))
	if err != nil || !v {
		t.Fatalf("evaluation: %v %v", v, err)
	}

	killed, _ := modified(t, s, func(c *snapshot.Snapshot) { c.Flags[flagIndex(t, c, "weather-widget")].Killed = true })
	store.Publish("production", snapshot.Encode(killed))
	d := ev.next(t, of.ProviderConfigChange)
	if !slices.Equal(d.FlagChanges, []string{"weather-widget"}) {
		t.Errorf("flag changes %v", d.FlagChanges)
	}
	b, _ := client.BooleanValueDetails(context.Background(), "weather-widget", true, of.NewEvaluationContext("user-1", nil))
	if b.Value || b.Reason != of.DisabledReason || b.FlagMetadata["decision"] != "kill" {
		t.Errorf("killed flag: %+v", b)
	}

	store.SetFault(storetest.Failing)
	ev.next(t, of.ProviderStale)
	b, _ = client.BooleanValueDetails(context.Background(), "weather-widget", true, of.NewEvaluationContext("user-1", nil))
	if b.Value || b.Reason != ReasonStale || b.FlagMetadata["reason"] != "DISABLED" {
		t.Errorf("while the store is down: %+v", b)
	}
	store.SetFault(storetest.Healthy)
	ev.next(t, of.ProviderReady)
}
