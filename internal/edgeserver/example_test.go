package edgeserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeflag/edgeflag/internal/edgeserver"
	"github.com/edgeflag/edgeflag/internal/wasmbuild"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// An edge server on the WASM evaluator, following a directory store served over HTTP the
// way CloudFront serves the bucket.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "edgeserver-example-")
	defer os.RemoveAll(dir)

	// The module: `make wasm` writes bin/edgeflag.wasm the same way.
	wasmPath := filepath.Join(dir, "edgeflag.wasm")
	if err := wasmbuild.Build(ctx, wasmPath); err != nil {
		fmt.Println(err)
		return
	}
	wasm, _ := os.ReadFile(wasmPath)
	ev, err := host.New(ctx, wasm, host.Config{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ev.Close(ctx)

	// A store with one published snapshot (`edgeflag publish` does this from flags/).
	st, _ := store.NewDir(filepath.Join(dir, "store"))
	if _, err := publish.New(st).Publish(ctx, snapshot.Encode(&snapshot.Snapshot{
		Environment: "production", Attributes: []string{"userId"},
		Flags: []snapshot.Flag{{Key: "dark-mode", Type: snapshot.TypeBoolean, Enabled: true,
			Variants:    []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
			ReleaseRing: snapshot.NoIndex,
			Rollout:     snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}}}},
	}), "example"); err != nil {
		fmt.Println(err)
		return
	}
	storeServer := httptest.NewServer(store.Handler(st))
	defer storeServer.Close()

	edge, err := edgeserver.New(edgeserver.Config{Evaluator: ev, StoreURL: storeServer.URL, Environment: "production"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := edge.Poll(ctx); err != nil { // a real server runs edge.Run(ctx) in a goroutine
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(edge)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/evaluate", nil)
	req.Header.Set("X-User-Id", "user-42")
	req.Header.Set("User-Agent", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Header.Get("X-Flag-Dark-Mode"))
	fmt.Println(string(body[strings.Index(string(body), `"stale"`):]))

	resp, err = http.Post(srv.URL+"/ofrep/v1/evaluate/flags/dark-mode", "application/json",
		strings.NewReader(`{"context":{"targetingKey":"user-42"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body[:strings.Index(string(body), `,"metadata"`)]))
	// Output:
	// on
	// "stale":false,"context":{"userId":"user-42"},"results":{"flags":[{"key":"dark-mode","value":true,"variant":"on","reason":"STATIC","decision":{"kind":"default"}}]}}
	// 200 {"key":"dark-mode","reason":"STATIC","variant":"on","value":true
}
