package poller_test

import (
	"context"
	"fmt"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/snapshot"
)

// An edge host keeps a native evaluator current from a store.
func Example() {
	store := storetest.New()
	defer store.Close()
	store.Publish("production", snapshot.Encode(&snapshot.Snapshot{Environment: "production", Revision: "v1"}))

	ev := evaluator.New(nil)
	p, _ := poller.New(poller.Config{
		BaseURL:     store.URL,
		Environment: "production",
		Interval:    5 * time.Second,
		Apply: func(data []byte, ptr poller.Pointer) error {
			s, err := snapshot.Decode(data)
			if err == nil {
				ev.Swap(s)
			}
			return err
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Poll(ctx); err != nil { // then: go p.Run(ctx)
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Snapshot().Revision, p.Stale())
	// Output: v1 false
}
