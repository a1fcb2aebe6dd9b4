package edgeserver

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/signing"
)

// TestServerRefusesBadPointers runs the Go edge (the module under wazero) with a key and
// feeds it a tampered, a cross-environment and a replayed pointer: each is refused, the
// last good snapshot keeps being served, /healthz says why, and the edge turns stale.
func TestServerRefusesBadPointers(t *testing.T) {
	key, _ := signing.GenerateKey()
	ring, _ := signing.NewKeyring(key.PublicKey())
	store := storetest.New()
	t.Cleanup(store.Close)
	prod, staging := exampleSnapshot(t, "production"), exampleSnapshot(t, "staging")
	stagingHash := store.PublishSigned("staging", staging, key, 40)
	store.PublishSigned("production", prod, key, 1)
	old := store.Get("production/current.json")
	hash := store.PublishSigned("production", prod, key, 2)

	const grace = 300 * time.Millisecond
	srv, err := New(Config{Evaluator: newHost(t), StoreURL: store.URL, PollInterval: time.Hour, Grace: grace,
		PollTimeout: time.Second, Now: func() time.Time { return noon }, Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	if err := srv.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, h := health(t, hs.URL); h.Status != "ok" || h.Snapshot != hash || h.Signatures != "required" ||
		h.PointerVersion != 2 || h.KeyID != signing.KeyID(key.PublicKey()) {
		t.Fatalf("/healthz after a signed pointer: %+v", h)
	}

	var ptr map[string]any
	json.Unmarshal(store.Get("production/current.json"), &ptr)
	tamper := func(field string, value any) []byte {
		c := map[string]any{}
		for k, v := range ptr {
			c[k] = v
		}
		c[field] = value
		b, _ := json.Marshal(c)
		return b
	}
	crossEnv := strings.Replace(string(store.Get("staging/current.json")), `"environment":"staging"`, `"environment":"production"`, 1)
	tests := []struct {
		name, pointer, want string
	}{
		{"tampered", string(tamper("snapshot", stagingHash)), "signature does not verify"},
		{"cross-environment", crossEnv, "signature does not verify"},
		{"replayed", string(old), "older than the pointer this edge serves"},
		{"unsigned", string(tamper("signature", "")), "signature does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store.Put("production/current.json", []byte(tt.pointer))
			if err := srv.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Poll = %v, want %q", err, tt.want)
			}
			status, h := health(t, hs.URL)
			if status != 200 || h.Snapshot != hash || h.PointerVersion != 2 || !strings.Contains(h.LastError, tt.want) {
				t.Fatalf("/healthz: %d %+v", status, h)
			}
			r := do(t, "GET", hs.URL+"/evaluate?flag=new-checkout-flow", "", "X-User-Id", "user-42")
			if r.status != 200 || !strings.Contains(string(r.body), hash) {
				t.Fatalf("/evaluate: %d %s", r.status, r.body)
			}
		})
	}
	time.Sleep(grace + 50*time.Millisecond)
	if _, h := health(t, hs.URL); h.Status != "stale" || h.Snapshot != hash || !strings.Contains(h.LastError, "refused") {
		t.Fatalf("/healthz after refusing for longer than the grace period: %+v", h)
	}
	r := do(t, "GET", hs.URL+"/evaluate?flag=new-checkout-flow", "", "X-User-Id", "user-42")
	if !strings.Contains(string(r.body), `"STALE"`) {
		t.Fatalf("/evaluate while refusing: %s", r.body)
	}
}
