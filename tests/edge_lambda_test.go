package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/poller/storetest"
)

// edgeLambdaResult is what a viewer-request handler returns: a generated response or the
// (modified) request.
type edgeLambdaResult struct {
	Status  string                         `json:"status"`
	Body    string                         `json:"body"`
	URI     string                         `json:"uri"`
	Headers map[string][]map[string]string `json:"headers"`
}

// edgeLambda runs the Lambda@Edge handler in Node.js with a config for store.
func edgeLambda(t *testing.T, storeURL string) *edgeNode {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{
		"storeURL": storeURL, "environment": "production", "pollIntervalMs": 100, "graceMs": 1500,
		"wasmPath": edgeWasm(t),
	})
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return edgeStartNode(t, "testdata/edge/lambda-invoke.mjs", "EDGEFLAG_CONFIG="+path)
}

func edgeEvent(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(edgeRoot(t), "edge/lambda-edge/events", name))
	if err != nil {
		t.Fatal(err)
	}
	var compact json.RawMessage
	if err := json.Unmarshal(b, &compact); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return compact
}

func TestEdgeLambda(t *testing.T) {
	s, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	hash := store.Publish("production", data)
	fn := edgeLambda(t, store.URL)
	flagsEvent, viewerEvent := edgeEvent(t, "flags-request.json"), edgeEvent(t, "viewer-request.json")

	invokeFlags := func() edgeFlagsAnswer {
		t.Helper()
		var res edgeLambdaResult
		fn.call(t, flagsEvent, &res)
		if res.Status != "200" || res.Headers["content-type"][0]["value"] != "application/json" {
			t.Fatalf("flags response: %+v", res)
		}
		var a edgeFlagsAnswer
		if err := json.Unmarshal([]byte(res.Body), &a); err != nil {
			t.Fatalf("flags body %s: %v", res.Body, err)
		}
		return a
	}
	flagsCtx := map[string]any{"userId": "user-42", "country": "US", "userAgent": "curl/8.5.0"}
	a := invokeFlags()
	if a.Snapshot != hash || a.Stale || !equalJSON(a.Context, flagsCtx) {
		t.Fatalf("flags answer: snapshot %s stale %v context %v", a.Snapshot, a.Stale, a.Context)
	}
	edgeCheckResults(t, a.Results.Flags, s, flagsCtx, false)
	// The function runs the module on the WASI shim it shares with the Worker, not on
	// node:wasi, which Node 20 reports as experimental at every cold start.
	if logs := fn.logs.String(); strings.Contains(logs, "Warning") {
		t.Errorf("the cold start wrote a warning:\n%s", logs)
	}

	viewerCtx := map[string]any{"userId": "user-1234", "country": "DE",
		"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}
	invokeViewer := func() edgeLambdaResult {
		t.Helper()
		var req edgeLambdaResult
		fn.call(t, viewerEvent, &req)
		if req.URI != "/checkout" || req.Status != "" {
			t.Fatalf("viewer request not passed on: %+v", req)
		}
		return req
	}
	header := func(req edgeLambdaResult, name string) string {
		if h := req.Headers[name]; len(h) == 1 {
			return h[0]["value"]
		}
		return ""
	}
	req := invokeViewer()
	for key, r := range edgeWantResults(s, viewerCtx) {
		if got := header(req, "x-flag-"+key); r.Reason != evaluator.ReasonError && got != r.Variant {
			t.Errorf("x-flag-%s = %q, want %q", key, got, r.Variant)
		}
	}
	if header(req, "x-edgeflag-snapshot") != hash || header(req, "cookie") == "" || header(req, "x-edgeflag-stale") != "" {
		t.Errorf("request headers: %v", req.Headers)
	}

	// A due poll is awaited in the invocation: a new snapshot is there on the next call.
	killedSnap, killedData := edgeKilled(t, s, "new-checkout-flow")
	killedHash := store.Publish("production", killedData)
	time.Sleep(150 * time.Millisecond)
	a = invokeFlags()
	if a.Snapshot != killedHash {
		t.Fatalf("after publishing: serving %s, want %s", a.Snapshot, killedHash)
	}
	edgeCheckResults(t, a.Results.Flags, killedSnap, flagsCtx, false)
	time.Sleep(150 * time.Millisecond)
	invokeFlags()
	if store.Count("production/current.json", http.StatusNotModified) == 0 {
		t.Error("the function never polled with If-None-Match")
	}

	// Pointers and snapshots that do not check out leave the last good snapshot in place.
	bad := []struct{ name, key, body string }{
		{"garbage pointer", "production/current.json", "not json"},
		{"pointer of another environment", "production/current.json", `{"environment":"staging","snapshot":"` + hash + `"}`},
		{"pointer without a hash", "production/current.json", `{"environment":"production","snapshot":"../x"}`},
		{"missing snapshot", "production/current.json", `{"environment":"production","snapshot":"` + strings.Repeat("ab", 32) + `"}`},
	}
	for _, b := range bad {
		store.Put(b.key, []byte(b.body))
		time.Sleep(150 * time.Millisecond)
		if a = invokeFlags(); a.Snapshot != killedHash {
			t.Fatalf("%s: serving %s, want the last good %s", b.name, a.Snapshot, killedHash)
		}
	}
	misnamed := strings.Repeat("cd", 32)
	store.Put("snapshots/"+misnamed+".snap", data)
	store.Put("production/current.json", []byte(`{"environment":"production","snapshot":"`+misnamed+`"}`))
	time.Sleep(150 * time.Millisecond)
	if a = invokeFlags(); a.Snapshot != killedHash {
		t.Fatalf("misnamed snapshot: serving %s, want the last good %s", a.Snapshot, killedHash)
	}
	store.Publish("production", killedData)

	// Corrupt snapshots keep the last good one, which turns STALE after the grace period.
	store.SetFault(storetest.CorruptSnapshots)
	_, otherData := edgeKilled(t, s, "one-click-checkout")
	otherHash := store.Publish("production", otherData)
	time.Sleep(150 * time.Millisecond)
	if a = invokeFlags(); a.Snapshot != killedHash || a.Stale {
		t.Fatalf("corrupt store, within grace: snapshot %s stale %v", a.Snapshot, a.Stale)
	}
	time.Sleep(1600 * time.Millisecond)
	a = invokeFlags()
	if a.Snapshot != killedHash || !a.Stale {
		t.Fatalf("corrupt store, past grace: snapshot %s stale %v", a.Snapshot, a.Stale)
	}
	edgeCheckResults(t, a.Results.Flags, killedSnap, flagsCtx, true)
	if req := invokeViewer(); header(req, "x-edgeflag-stale") != "1" {
		t.Errorf("no x-edgeflag-stale while stale: %v", req.Headers)
	}

	// Recovery.
	store.SetFault(storetest.Healthy)
	time.Sleep(150 * time.Millisecond)
	if a = invokeFlags(); a.Snapshot != otherHash || a.Stale {
		t.Fatalf("after recovery: snapshot %s stale %v", a.Snapshot, a.Stale)
	}

	// A store down from the start: a 503 response says why.
	down := storetest.New()
	defer down.Close()
	down.SetFault(storetest.Failing)
	var res edgeLambdaResult
	edgeLambda(t, down.URL).call(t, flagsEvent, &res)
	if res.Status != "503" || !strings.Contains(res.Body, "status 503") {
		t.Fatalf("store down: %+v", res)
	}
}
