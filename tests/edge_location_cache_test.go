package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/store/layout"
)

// edgeLocation runs the two isolates of tests/testdata/edge/location.capnp in workerd with
// env and returns the base URL: /a/... goes to one isolate, /b/... to the other.
func edgeLocation(t *testing.T, env []string) string {
	t.Helper()
	extra := map[string]string{}
	for _, f := range []string{"location.capnp", "front.mjs", "location-cache.mjs"} {
		b, err := os.ReadFile(filepath.Join(edgeRoot(t), "tests/testdata/edge", f))
		if err != nil {
			t.Fatal(err)
		}
		extra["tests/location/"+f] = string(b)
	}
	return edgeWorkerd(t, "tests/location/location.capnp", env, extra)
}

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
	const interval, ttl = 100 * time.Millisecond, time.Second
	base := edgeLocation(t, []string{
		"EDGEFLAG_STORE_URL=" + store.URL,
		"EDGEFLAG_POLL_INTERVAL_MS=100",
		"EDGEFLAG_CACHE_TTL_S=1",
	})

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

// TestEdgeWorkerReplayAcrossIsolates holds a location to the newest signed pointer any of
// its isolates served: isolate a serves version 2, the store then serves the older signed
// version 1 again, and isolate b, started after, refuses it, as a has (the location cache
// keeps a record of the version served; without it a cold isolate would take any validly
// signed pointer).
func TestEdgeWorkerReplayAcrossIsolates(t *testing.T) {
	ss := newSignedStore(t)
	var replayed string
	for _, b := range ss.bad {
		if b.name == "replayed" {
			replayed = b.pointer
		}
	}
	good := ss.Get("production/current.json")
	base := edgeLocation(t, []string{
		"EDGEFLAG_STORE_URL=" + ss.URL,
		"EDGEFLAG_POLL_INTERVAL_MS=100",
		"EDGEFLAG_CACHE_TTL_S=1",
		"EDGEFLAG_PUBLIC_KEYS=" + ss.publicKeys,
	})
	health := func(isolate string) (int, edgeJSHealth) {
		t.Helper()
		resp, err := http.Get(base + "/" + isolate + "/.edgeflag/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h edgeJSHealth
		if b, _ := io.ReadAll(resp.Body); json.Unmarshal(b, &h) != nil {
			t.Fatalf("isolate %s health: %s %s", isolate, resp.Status, b)
		}
		return resp.StatusCode, h
	}
	if status, h := health("a"); status != http.StatusOK || h.PointerVersion != 2 || h.Pointer.Snapshot != ss.hash {
		t.Fatalf("isolate a: %d %+v, want version 2", status, h)
	}

	ss.Put("production/current.json", []byte(replayed))
	time.Sleep(1200 * time.Millisecond) // the location's copy of the good pointer expires
	want := "older than the pointer this edge serves: version 1"
	for _, isolate := range []string{"b", "a"} {
		status, h := health(isolate)
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(h.LastError, want) && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			status, h = health(isolate)
		}
		if !strings.Contains(h.LastError, want) || !strings.Contains(h.LastError, "the edge serves version 2") {
			t.Fatalf("isolate %s: %d %+v, want the replayed version 1 refused", isolate, status, h)
		}
		if isolate == "b" && status != http.StatusServiceUnavailable {
			t.Errorf("isolate b loaded a snapshot from the replayed pointer: %d %+v", status, h)
		}
	}

	ss.Put("production/current.json", good)
	deadline := time.Now().Add(5 * time.Second)
	for status, h := health("b"); status != http.StatusOK || h.PointerVersion != 2; status, h = health("b") {
		if time.Now().After(deadline) {
			t.Fatalf("isolate b after the good pointer is back: %d %+v", status, h)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
