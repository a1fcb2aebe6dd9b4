package edgeserver

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/signing"
)

// TestServerRestartsFromState runs the Go edge with a state directory: a second server
// started on it while the store is down answers from the kept snapshot at once, says so
// in /healthz, refuses a replayed older pointer once the store is back, and turns stale
// after the grace period while nothing confirms the snapshot.
func TestServerRestartsFromState(t *testing.T) {
	key, _ := signing.GenerateKey()
	ring, _ := signing.NewKeyring(key.PublicKey())
	store := storetest.New()
	t.Cleanup(store.Close)
	prod := exampleSnapshot(t, "production")
	store.PublishSigned("production", prod, key, 1)
	old := store.Get("production/current.json")
	hash := store.PublishSigned("production", prod, key, 2)
	dir := t.TempDir()
	const grace = 400 * time.Millisecond
	newServer := func() (*Server, string) {
		srv, err := New(Config{Evaluator: newHost(t), StoreURL: store.URL, PollInterval: time.Hour, Grace: grace,
			PollTimeout: time.Second, Now: func() time.Time { return noon }, Keys: ring, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		return srv, hs.URL
	}

	first, _ := newServer()
	if err := first.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h := first.Health(); h.Restored || h.StateError != "" || h.PointerVersion != 2 {
		t.Fatalf("first server: %+v", h)
	}

	store.SetFault(storetest.Failing)
	second, url := newServer()
	if status, h := health(t, url); status != 503 || h.Status != "starting" {
		t.Fatalf("/healthz before Restore: %d %+v", status, h)
	}
	if err := second.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := second.Poll(t.Context()); err == nil {
		t.Fatal("a poll of the failing store succeeded")
	}
	status, h := health(t, url)
	if status != 200 || h.Status != "ok" || h.Snapshot != hash || !h.Restored || h.PointerVersion != 2 || h.LastSuccess != nil || h.StateError != "" {
		t.Fatalf("/healthz restored with the store down: %d %+v", status, h)
	}
	r := do(t, "POST", url+"/ofrep/v1/evaluate/flags/new-checkout-flow", `{"context":{"targetingKey":"user-42"}}`)
	if r.status != 200 || strings.Contains(string(r.body), "STALE") {
		t.Fatalf("OFREP from the restored snapshot: %d %s", r.status, r.body)
	}

	// The store is back, serving the older pointer: refused, the restored one kept.
	store.SetFault(storetest.Healthy)
	store.Put("production/current.json", old)
	if err := second.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), "older than the pointer this edge serves") {
		t.Fatalf("Poll of the replayed pointer = %v", err)
	}
	time.Sleep(grace + 50*time.Millisecond)
	if _, h := health(t, url); h.Status != "stale" || h.Snapshot != hash || !h.Restored || !strings.Contains(h.LastError, "older") {
		t.Fatalf("/healthz after refusing for longer than the grace period: %+v", h)
	}
}
