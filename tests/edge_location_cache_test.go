package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/store/layout"
)

// TestEdgeWorkerLocationCache runs two isolates of the Worker in one workerd location
// whose Cache API is the location's shared cache (tests/testdata/edge/location.capnp): the
// store sees one pointer request per cache TTL for the whole location, not one per
// isolate per poll; a snapshot is fetched from the store once and then from the cache;
// and a kill still reaches every isolate within poll interval + cache TTL.
func TestEdgeWorkerLocationCache(t *testing.T) {
	s, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	hash := store.Publish("production", data)
	extra := map[string]string{}
	for _, f := range []string{"location.capnp", "front.mjs", "location-cache.mjs"} {
		b, err := os.ReadFile(filepath.Join(edgeRoot(t), "tests/testdata/edge", f))
		if err != nil {
			t.Fatal(err)
		}
		extra["tests/location/"+f] = string(b)
	}
	const interval, ttl = 100 * time.Millisecond, time.Second
	base := edgeWorkerd(t, "tests/location/location.capnp", []string{
		"EDGEFLAG_STORE_URL=" + store.URL,
		"EDGEFLAG_POLL_INTERVAL_MS=100",
		"EDGEFLAG_CACHE_TTL_S=1",
	}, extra)

	type health struct {
		Cache                                  string         `json:"cache"`
		Pointer                                layout.Pointer `json:"pointer"`
		Polls, StoreRequests, CacheHits, Swaps int
	}
	get := func(isolate string) health {
		t.Helper()
		resp, err := http.Get(base + "/" + isolate + "/.edgeflag/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var h health
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &h) != nil {
			t.Fatalf("isolate %s health: %s %s", isolate, resp.Status, b)
		}
		return h
	}
	pointerKey, snapKey := layout.PointerKey("production"), layout.SnapshotKey(hash)

	// Isolate a loads from the store; isolate b, started after, from the location's cache.
	if h := get("a"); h.Pointer.Snapshot != hash || h.StoreRequests != 2 || h.Cache != "location, 1 s" {
		t.Fatalf("isolate a: %+v", h)
	}
	if h := get("b"); h.Pointer.Snapshot != hash || h.StoreRequests != 0 || h.CacheHits != 2 {
		t.Fatalf("isolate b: %+v, want both objects from the location cache", h)
	}
	if n, m := store.Count(pointerKey, 200), store.Count(snapKey, 200); n != 1 || m != 1 {
		t.Fatalf("the store answered the pointer %d times and the snapshot %d times, want once each", n, m)
	}

	// Both isolates poll every 100 ms for 2.5 s: without the cache the store would see about
	// 50 pointer requests; with it, at most one per TTL per isolate racing for the refresh.
	const window = 2500 * time.Millisecond
	before := store.Count(pointerKey, 200)
	for end := time.Now().Add(window); time.Now().Before(end); time.Sleep(interval / 2) {
		get("a")
		get("b")
	}
	polls := get("a").Polls + get("b").Polls
	requests := store.Count(pointerKey, 200) - before
	if limit := 2 * (int(window/ttl) + 2); requests > limit || polls < 10 {
		t.Errorf("%d polls made %d pointer requests to the store in %v, want at most %d", polls, requests, window, limit)
	}
	t.Logf("%d polls by 2 isolates in %v: %d pointer requests reached the store", polls, window, requests)

	// A kill reaches both isolates within poll interval + cache TTL (waited for with slack).
	_, killedData := edgeKilled(t, s, "new-checkout-flow")
	killed := store.Publish("production", killedData)
	published := time.Now()
	for _, isolate := range []string{"a", "b"} {
		for get(isolate).Pointer.Snapshot != killed {
			if time.Since(published) > 10*(interval+ttl) {
				t.Fatalf("isolate %s still serves %s %v after the kill", isolate, hash, time.Since(published))
			}
			time.Sleep(interval / 2)
		}
	}
	t.Logf("the kill reached both isolates in %v (bound: interval %v + TTL %v)", time.Since(published).Round(time.Millisecond), interval, ttl)
	if n := store.Count(layout.SnapshotKey(killed), 200); n != 1 {
		t.Errorf("the killed snapshot was fetched from the store %d times, want once for the location", n)
	}
}
