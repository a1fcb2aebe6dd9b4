package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/snapshot"
)

// edgeFlagsAnswer is what the edges answer on the flags path.
type edgeFlagsAnswer struct {
	Snapshot string                       `json:"snapshot"`
	Stale    bool                         `json:"stale"`
	Context  map[string]any               `json:"context"`
	Results  struct{ Flags []edgeResult } `json:"results"`
}

type edgeResult struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Variant   string          `json:"variant"`
	Reason    string          `json:"reason"`
	ErrorCode string          `json:"errorCode"`
}

// edgeWantResults evaluates ctx natively now, the reference for what an edge answers.
func edgeWantResults(s *snapshot.Snapshot, ctx map[string]any) map[string]evaluator.Result {
	c := evaluator.NewContext()
	edgeSetContext(c, ctx)
	want := map[string]evaluator.Result{}
	for _, r := range evaluator.New(s).EvaluateAll(c, time.Now(), nil) {
		want[r.Key] = r
	}
	return want
}

// edgeCheckResults compares an edge's results with the native evaluator's; staleReason
// says whether successful results must carry STALE instead of their own reason.
func edgeCheckResults(t *testing.T, got []edgeResult, s *snapshot.Snapshot, ctx map[string]any, stale bool) {
	t.Helper()
	want := edgeWantResults(s, ctx)
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for _, g := range got {
		w := want[g.Key]
		reason := string(w.Reason)
		if stale && w.Reason != evaluator.ReasonError {
			reason = "STALE"
		}
		if g.Variant != w.Variant || string(g.Value) != w.Value || g.Reason != reason {
			t.Errorf("flag %s: got %s %s %s, want %s %s %s", g.Key, g.Variant, g.Value, g.Reason, w.Variant, w.Value, reason)
		}
	}
}

// edgeOrigin is an origin server that records the headers of the last request.
type edgeOrigin struct {
	*httptest.Server
	last chan http.Header
}

func newEdgeOrigin(t *testing.T) *edgeOrigin {
	o := &edgeOrigin{last: make(chan http.Header, 100)}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.last <- r.Header.Clone()
		w.Write([]byte("origin saw " + r.URL.Path))
	}))
	t.Cleanup(o.Close)
	return o
}

// killed returns s with flag key killed, re-encoded: a new snapshot to publish.
func edgeKilled(t *testing.T, s *snapshot.Snapshot, key string) (*snapshot.Snapshot, []byte) {
	t.Helper()
	c := *s
	c.Flags = append([]snapshot.Flag(nil), s.Flags...)
	i := c.FlagIndex(key)
	if i < 0 {
		t.Fatalf("no flag %s", key)
	}
	c.Flags[i].Killed = true
	c.Revision = "killed-" + key
	data := snapshot.Encode(&c)
	d, err := snapshot.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return d, data
}

func TestEdgeWorker(t *testing.T) {
	s, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	hash := store.Publish("production", data)
	origin := newEdgeOrigin(t)
	base := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{
		"EDGEFLAG_STORE_URL=" + store.URL,
		"EDGEFLAG_ENVIRONMENT=production",
		"EDGEFLAG_POLL_INTERVAL_MS=100",
		"EDGEFLAG_GRACE_MS=1500",
		"EDGEFLAG_ORIGIN_URL=" + origin.URL,
	}, nil)

	get := func(path string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	flags := func(header map[string]string) edgeFlagsAnswer {
		t.Helper()
		resp, b := get("/.edgeflag/flags", header)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("flags: %s %s", resp.Status, b)
		}
		var a edgeFlagsAnswer
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("flags answer %s: %v", b, err)
		}
		return a
	}
	// waitFlags polls the flags path until cond holds (the Worker refreshes in the background).
	waitFlags := func(what string, header map[string]string, cond func(edgeFlagsAnswer) bool) edgeFlagsAnswer {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			a := flags(header)
			if cond(a) {
				return a
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: never happened; last answer %+v", what, a)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	viewer := map[string]string{
		"Cookie":       "theme=dark; edgeflag_uid=user-1234",
		"CF-IPCountry": "de",
		"User-Agent":   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
	}
	a := flags(viewer)
	wantCtx := map[string]any{"userId": "user-1234", "country": "DE", "userAgent": viewer["User-Agent"]}
	if a.Snapshot != hash || a.Stale || !equalJSON(a.Context, wantCtx) {
		t.Fatalf("first answer: snapshot %s stale %v context %v", a.Snapshot, a.Stale, a.Context)
	}
	edgeCheckResults(t, a.Results.Flags, s, wantCtx, false)

	// The Worker keeps polling the pointer with If-None-Match.
	waitFlags("a poll answered 304", viewer, func(edgeFlagsAnswer) bool {
		return store.Count("production/current.json", http.StatusNotModified) > 0
	})

	// The user id header wins over the cookie.
	a = flags(map[string]string{"X-User-Id": "user-42", "Cookie": "edgeflag_uid=user-1234"})
	if a.Context["userId"] != "user-42" {
		t.Fatalf("context from the header: %v", a.Context)
	}

	// Any other path goes to the origin with the results as headers; forged ones are dropped.
	forged := map[string]string{"X-Flag-New-Checkout-Flow": "forged", "X-Edgeflag-Stale": "1"}
	for k, v := range viewer {
		forged[k] = v
	}
	resp, body := get("/checkout?step=1", forged)
	if resp.StatusCode != http.StatusOK || string(body) != "origin saw /checkout" {
		t.Fatalf("proxied request: %s %s", resp.Status, body)
	}
	h := <-origin.last
	for key, r := range edgeWantResults(s, wantCtx) {
		if got := h.Get("X-Flag-" + key); r.Reason != evaluator.ReasonError && got != r.Variant {
			t.Errorf("origin header x-flag-%s = %q, want %q", key, got, r.Variant)
		}
	}
	if h.Get("X-Edgeflag-Snapshot") != hash || h.Get("X-Edgeflag-Stale") != "" {
		t.Errorf("origin headers: snapshot %q stale %q", h.Get("X-Edgeflag-Snapshot"), h.Get("X-Edgeflag-Stale"))
	}

	// A new snapshot reaches the Worker within a few polls.
	killedSnap, killedData := edgeKilled(t, s, "new-checkout-flow")
	killedHash := store.Publish("production", killedData)
	a = waitFlags("the killed snapshot arrives", viewer, func(a edgeFlagsAnswer) bool { return a.Snapshot == killedHash })
	edgeCheckResults(t, a.Results.Flags, killedSnap, wantCtx, false)

	// A corrupt snapshot is refused: the last good one stays, and turns STALE after the grace period.
	store.SetFault(storetest.CorruptSnapshots)
	_, otherData := edgeKilled(t, s, "one-click-checkout")
	otherHash := store.Publish("production", otherData)
	a = waitFlags("stale after the grace period", viewer, func(a edgeFlagsAnswer) bool { return a.Stale })
	if a.Snapshot != killedHash {
		t.Fatalf("serving %s while the store is corrupt, want the last good %s", a.Snapshot, killedHash)
	}
	edgeCheckResults(t, a.Results.Flags, killedSnap, wantCtx, true)
	get("/checkout", viewer)
	if h := <-origin.last; h.Get("X-Edgeflag-Stale") != "1" {
		t.Errorf("no x-edgeflag-stale header while stale: %v", h)
	}

	// The store recovers: the pending snapshot arrives and the results are fresh again.
	store.SetFault(storetest.Healthy)
	a = waitFlags("recovery", viewer, func(a edgeFlagsAnswer) bool { return a.Snapshot == otherHash && !a.Stale })

	// A store that is down from the start: the Worker answers 503 with the reason.
	down := storetest.New()
	defer down.Close()
	down.SetFault(storetest.Failing)
	base2 := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{"EDGEFLAG_STORE_URL=" + down.URL}, nil)
	resp, err := http.Get(base2 + "/.edgeflag/flags")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "status 503") {
		t.Fatalf("store down: %s %s", resp.Status, b)
	}
}

// equalJSON compares two values as JSON.
func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
