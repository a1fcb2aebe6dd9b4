package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/internal/edgeserver"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// edgeServerHost returns a wazero host of the evaluator module, closed at the end of the
// test.
func edgeServerHost(t *testing.T) *host.Evaluator {
	t.Helper()
	wasm, err := os.ReadFile(edgeWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := host.New(context.Background(), wasm, host.Config{Instances: 2, CacheDir: filepath.Join(edgeRoot(t), ".cache/wazero")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close(context.Background()) })
	return ev
}

// edgePublishedStore is a directory store with the example flags' production snapshot
// published.
func edgePublishedStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, data := edgeExampleSnapshot(t, "production")
	if _, err := publish.New(st).Publish(context.Background(), data, "test"); err != nil {
		t.Fatal(err)
	}
	return st
}

// edgeServerStore publishes the example flags into a directory store and serves it over
// HTTP as CloudFront serves the bucket; it returns the store and its URL.
func edgeServerStore(t *testing.T) (store.Store, string) {
	t.Helper()
	st := edgePublishedStore(t)
	srv := httptest.NewServer(store.Handler(st))
	t.Cleanup(srv.Close)
	return st, srv.URL
}

// edgeServerStart starts the Go edge server on 127.0.0.1 following storeURL, polls once
// and keeps polling until the test ends; it returns the server and its URL.
func edgeServerStart(t *testing.T, cfg edgeserver.Config) (*edgeserver.Server, string) {
	t.Helper()
	if cfg.Evaluator == nil {
		cfg.Evaluator = edgeServerHost(t)
	}
	srv, err := edgeserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.Poll(t.Context())
	go srv.Run(t.Context())
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs.URL
}

// TestEdgeServerOFREPConformance validates the Go edge server — the WASM evaluator under
// wazero, kept current from a store over HTTP — against the OFREP OpenAPI document, as
// TestOFREPConformance does for the native evaluator: every example flag for several
// contexts, bulk with ETag and 304, bad requests, an unknown flag, no snapshot yet,
// refused credentials, and a stale snapshot.
func TestEdgeServerOFREPConformance(t *testing.T) {
	v := newOFREPValidator(t, ofrepSpec(t))
	_, storeURL := edgeServerStore(t)
	_, base := edgeServerStart(t, edgeserver.Config{StoreURL: storeURL, PollInterval: 50 * time.Millisecond,
		OFREP: ofrep.Options{Now: func() time.Time { return ofrepNoon }}})
	s, _ := edgeExampleSnapshot(t, "production")

	check, statuses := ofrepConformanceRun(t, v, base, s)

	// An edge whose store has nothing published yet answers 500.
	empty, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	emptyStore := httptest.NewServer(store.Handler(empty))
	defer emptyStore.Close()
	_, starting := edgeServerStart(t, edgeserver.Config{StoreURL: emptyStore.URL})
	check(ofrepPost(t, starting, "/ofrep/v1/evaluate/flags/new-search-algorithm", ofrepConformanceContexts[0]))
	check(ofrepPost(t, starting, "/ofrep/v1/evaluate/flags", ofrepConformanceContexts[0]))

	// Credentials: 401 without an API key, 403 with a key that is refused.
	forbidden := func(r *http.Request) error {
		if r.Header.Get("X-API-Key") == "" {
			return ofrep.ErrUnauthorized
		}
		return ofrep.ErrForbidden
	}
	_, locked := edgeServerStart(t, edgeserver.Config{StoreURL: storeURL, OFREP: ofrep.Options{Authenticate: forbidden}})
	check(ofrepPost(t, locked, "/ofrep/v1/evaluate/flags/new-search-algorithm", ofrepConformanceContexts[0]))
	check(ofrepPost(t, locked, "/ofrep/v1/evaluate/flags", ofrepConformanceContexts[0], "X-API-Key", "k"))

	// A stale snapshot: the store goes away for longer than the grace period.
	_, data := edgeExampleSnapshot(t, "production")
	gone, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.New(gone).Publish(context.Background(), data, "test"); err != nil {
		t.Fatal(err)
	}
	goneStore := httptest.NewServer(store.Handler(gone))
	staleSrv, stale := edgeServerStart(t, edgeserver.Config{StoreURL: goneStore.URL, PollInterval: 20 * time.Millisecond,
		Grace: 200 * time.Millisecond, PollTimeout: 100 * time.Millisecond})
	if h := staleSrv.Health(); h.Snapshot == "" {
		t.Fatalf("the stale edge never loaded its snapshot: %+v", h)
	}
	goneStore.Close()
	deadline := time.Now().Add(10 * time.Second)
	for staleSrv.Health().Status != "stale" {
		if time.Now().After(deadline) {
			t.Fatalf("never stale: %+v", staleSrv.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	x := ofrepPost(t, stale, "/ofrep/v1/evaluate/flags/new-search-algorithm", ofrepConformanceContexts[0])
	check(x)
	if !strings.Contains(string(x.respBody), `"stale":true`) {
		t.Errorf("stale answer without stale metadata: %s", x.respBody)
	}
	check(ofrepPost(t, stale, "/ofrep/v1/evaluate/flags", ofrepConformanceContexts[0]))

	for _, status := range []int{200, 304, 400, 401, 403, 404, 500} {
		if statuses[status] == 0 {
			t.Errorf("no response with status %d was validated", status)
		}
	}
	t.Logf("validated responses by status: %v", statuses)
}

// TestEdgeServerOFREPContextLimits holds the Go edge server (the module under wazero) to
// the native Go handler for contexts over the evaluator's limits: 400 INVALID_CONTEXT with
// the same body, for one flag and in bulk (the Worker and Lambda@Edge are held to it by
// TestEdgeOFREPWorker and TestEdgeOFREPLambda).
func TestEdgeServerOFREPContextLimits(t *testing.T) {
	_, storeURL := edgeServerStore(t)
	_, edge := edgeServerStart(t, edgeserver.Config{StoreURL: storeURL, PollInterval: time.Hour})
	_, data := edgeExampleSnapshot(t, "production")
	native := ofrep.NewNative()
	if _, err := native.Load(data); err != nil {
		t.Fatal(err)
	}
	ref := ofrepServer(t, ofrep.NewHandler(native, ofrep.Options{}))
	for i, body := range edgeOFREPOverLimits() {
		for _, path := range []string{edgeOFREPBulk, edgeOFREPFlag + "new-search-algorithm"} {
			c := edgeOFREPCase{name: fmt.Sprintf("over limits %d %s", i, path), path: path, body: body}
			got, want := edgeOFREPDo(t, edge, c), edgeOFREPDo(t, ref, c)
			if got.status != 400 || !strings.Contains(string(got.respBody), `"errorCode":"INVALID_CONTEXT"`) {
				t.Errorf("%s: Go edge %d %s, want 400 INVALID_CONTEXT", c.name, got.status, got.respBody)
			}
			if d := edgeOFREPSame(got, want); d != "" {
				t.Errorf("%s: Go edge and native handler differ:\n%s", c.name, d)
			}
		}
	}
}
