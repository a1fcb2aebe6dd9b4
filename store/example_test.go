package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// Open a local directory store (an s3://bucket/prefix location opens S3 the same way)
// and replace an object only if nobody changed it since it was read.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "edgeflag-store")
	defer os.RemoveAll(dir)

	st, err := store.Open(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	key := layout.PointerKey("production")
	etag, _ := st.Put(ctx, key, []byte(`{"snapshot":"v1"}`), store.PutOptions{IfAbsent: true})

	// A second writer moves the pointer first...
	_, _ = st.Put(ctx, key, []byte(`{"snapshot":"v2"}`), store.PutOptions{IfMatch: etag})

	// ...so a write based on the first read loses, and must re-read and retry.
	_, err = st.Put(ctx, key, []byte(`{"snapshot":"v3"}`), store.PutOptions{IfMatch: etag})
	fmt.Println(errors.Is(err, store.ErrPreconditionFailed))

	obj, _ := st.Get(ctx, key, store.GetOptions{})
	fmt.Println(string(obj.Data), obj.ContentType, obj.CacheControl)
	// Output:
	// true
	// {"snapshot":"v2"} application/json public, max-age=5
}
