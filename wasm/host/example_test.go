package host_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/wasmbuild"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/wasm/host"
)

func Example() {
	// Build the module (`make wasm` writes bin/edgeflag.wasm the same way).
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "edgeflag.wasm")
	if err := wasmbuild.Build(context.Background(), path); err != nil {
		fmt.Println(err)
		return
	}
	wasm, _ := os.ReadFile(path)

	e, err := host.New(context.Background(), wasm, host.Config{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close(context.Background())

	// A one-flag snapshot; real ones come from the compiler through the store.
	s := &snapshot.Snapshot{Environment: "production", Attributes: []string{"userId"},
		Flags: []snapshot.Flag{{Key: "dark-mode", Type: snapshot.TypeBoolean, Enabled: true,
			Variants:    []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
			ReleaseRing: snapshot.NoIndex,
			Rollout:     snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}}}}}
	if _, err := e.Load(snapshot.Encode(s)); err != nil {
		fmt.Println(err)
		return
	}
	ctx := evaluator.NewContext().SetString("userId", "u1")
	out, err := e.Evaluate(nil, "dark-mode", ctx, time.Now())
	fmt.Println(string(out), err)
	// Several flags for one request: the context crosses into the module once.
	out, err = e.EvaluateFlags(nil, []string{"dark-mode", "beta-banner"}, ctx, time.Now())
	fmt.Println(string(out), err)
	// Output:
	// {"key":"dark-mode","value":true,"variant":"on","reason":"STATIC","decision":{"kind":"default"}} <nil>
	// {"flags":[{"key":"dark-mode","value":true,"variant":"on","reason":"STATIC","decision":{"kind":"default"}},{"key":"beta-banner","reason":"ERROR","errorCode":"FLAG_NOT_FOUND","errorMessage":"flag not found"}]} <nil>
}
