package publish_test

import (
	"context"
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/store"
)

// Publish a compiled snapshot, kill a flag, and roll back: the kill stays in force.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "edgeflag-publish")
	defer os.RemoveAll(dir)
	st, _ := store.Open(ctx, dir) // or s3://bucket/prefix
	p := publish.New(st)

	// Bytes as `edgeflag compile` writes them.
	v1 := publishtest.Snapshot("production", "v1", 1, "checkout", "search")
	v2 := publishtest.Snapshot("production", "v2", 2, "checkout", "search")
	for _, base := range [][]byte{v1, v2, v2} {
		res, err := p.Publish(ctx, base, "ci")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("publish", res.Pointer.Revision, "changed:", res.Changed)
	}

	kill, _ := p.Kill(ctx, "production", "search", "p99 latency doubled", "oncall")
	fmt.Println("killed:", kill.Pointer.Killed, "state version:", kill.State.Version)

	back, _ := p.Rollback(ctx, "production", "", "oncall")
	fmt.Println("rollback to", back.Pointer.Revision, "killed:", back.Pointer.Killed)
	// Output:
	// publish v1 changed: true
	// publish v2 changed: true
	// publish v2 changed: false
	// killed: [search] state version: 1
	// rollback to v1 killed: [search]
}
