package tests

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// TestEdgeGoHost is a Go edge host: the wazero evaluator kept current by the poller from a
// store that fails, corrupts and recovers.
func TestEdgeGoHost(t *testing.T) {
	s, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	hash := store.Publish("production", data)

	wasm, err := os.ReadFile(edgeWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := host.New(context.Background(), wasm, host.Config{Instances: 2, CacheDir: filepath.Join(edgeRoot(t), ".cache/wazero")})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close(context.Background())
	p, err := poller.New(poller.Config{
		BaseURL: store.URL, Environment: "production", Interval: 20 * time.Millisecond, Grace: 500 * time.Millisecond,
		Apply: func(data []byte, _ poller.Pointer) error {
			_, err := ev.Load(data)
			return err
		},
		OnStale: ev.SetStale,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: never happened (status %+v)", what, p.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	serving := func(h string) func() bool {
		return func() bool { info, _ := ev.Snapshot(); return info.Hash == h }
	}
	waitFor("first snapshot", serving(hash))

	c := evaluator.NewContext().SetString("userId", "user-7").SetString("country", "FR")
	check := func(step string, want []byte) {
		t.Helper()
		got, err := ev.Evaluate(nil, "new-checkout-flow", c, time.Now())
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %s, %v; want %s", step, got, err, want)
		}
	}
	native := func(stale bool) []byte {
		r := evaluator.New(s).Evaluate("new-checkout-flow", c, time.Now())
		if stale {
			r.Reason = evaluator.ReasonStale
		}
		return r.AppendJSON(nil)
	}
	check("fresh", native(false))

	store.SetFault(storetest.CorruptSnapshots)
	killed, killedData := edgeKilled(t, s, "new-checkout-flow")
	killedHash := store.Publish("production", killedData)
	waitFor("stale", p.Stale)
	check("stale: last good snapshot, reason STALE", native(true))

	store.SetFault(storetest.Healthy)
	waitFor("recovered", serving(killedHash))
	waitFor("fresh again", func() bool { return !p.Stale() })
	want := evaluator.New(killed).Evaluate("new-checkout-flow", c, time.Now())
	check("recovered: the killed flag serves its off variant", want.AppendJSON(nil))
	if want.Reason != evaluator.ReasonDisabled {
		t.Fatalf("killed flag: %+v", want)
	}
}
