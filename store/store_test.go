package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/store/s3test"
)

// backends returns every store implementation, fresh and empty.
func backends(t *testing.T) map[string]store.Store {
	t.Helper()
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := s3test.New(t, "edgeflag-test")
	return map[string]store.Store{
		"dir": dir,
		"s3":  srv.Store(t, "flags"),
	}
}

const hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestGetMissing(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			_, err := st.Get(context.Background(), "production/current.json", store.GetOptions{})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get of a missing key: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			key := layout.SnapshotKey(hashA)
			etag, err := st.Put(ctx, key, []byte("snapshot bytes"), store.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			obj, err := st.Get(ctx, key, store.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if string(obj.Data) != "snapshot bytes" || obj.Key != key {
				t.Errorf("Get = %q under %q", obj.Data, obj.Key)
			}
			if obj.ETag == "" || obj.ETag != etag {
				t.Errorf("ETag of Get %q, of Put %q: want equal and not empty", obj.ETag, etag)
			}
			if obj.ContentType != layout.ContentTypeSnapshot {
				t.Errorf("ContentType = %q, want %q", obj.ContentType, layout.ContentTypeSnapshot)
			}
			// Overwriting with other content changes the ETag; the same content keeps it.
			etag2, err := st.Put(ctx, key, []byte("other bytes"), store.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if etag2 == etag {
				t.Errorf("different content, same ETag %s", etag)
			}
			etag3, err := st.Put(ctx, key, []byte("snapshot bytes"), store.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if etag3 != etag {
				t.Errorf("same content, ETag %s then %s", etag, etag3)
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	ctx := context.Background()
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			key := layout.PointerKey("production")
			etag, err := st.Put(ctx, key, []byte(`{"snapshot":"a"}`), store.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, key, store.GetOptions{IfNoneMatch: etag}); !errors.Is(err, store.ErrNotModified) {
				t.Fatalf("Get with the current ETag: err = %v, want ErrNotModified", err)
			}
			if _, err := st.Put(ctx, key, []byte(`{"snapshot":"b"}`), store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			obj, err := st.Get(ctx, key, store.GetOptions{IfNoneMatch: etag})
			if err != nil {
				t.Fatalf("Get with a stale ETag: %v", err)
			}
			if string(obj.Data) != `{"snapshot":"b"}` {
				t.Errorf("Get = %s", obj.Data)
			}
		})
	}
}

func TestConditionalPut(t *testing.T) {
	ctx := context.Background()
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			key := layout.PointerKey("staging")
			// IfMatch on a missing object fails.
			if _, err := st.Put(ctx, key, []byte("x"), store.PutOptions{IfMatch: `"0123"`}); !errors.Is(err, store.ErrPreconditionFailed) {
				t.Fatalf("IfMatch on a missing object: err = %v, want ErrPreconditionFailed", err)
			}
			// IfAbsent creates once.
			etag1, err := st.Put(ctx, key, []byte("v1"), store.PutOptions{IfAbsent: true})
			if err != nil {
				t.Fatalf("IfAbsent on a missing object: %v", err)
			}
			if _, err := st.Put(ctx, key, []byte("v1bis"), store.PutOptions{IfAbsent: true}); !errors.Is(err, store.ErrPreconditionFailed) {
				t.Fatalf("IfAbsent on an existing object: err = %v, want ErrPreconditionFailed", err)
			}
			// IfMatch with the current ETag replaces; with the old one it fails.
			etag2, err := st.Put(ctx, key, []byte("v2"), store.PutOptions{IfMatch: etag1})
			if err != nil {
				t.Fatalf("IfMatch with the current ETag: %v", err)
			}
			if _, err := st.Put(ctx, key, []byte("v3"), store.PutOptions{IfMatch: etag1}); !errors.Is(err, store.ErrPreconditionFailed) {
				t.Fatalf("IfMatch with a stale ETag: err = %v, want ErrPreconditionFailed", err)
			}
			obj, err := st.Get(ctx, key, store.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if string(obj.Data) != "v2" || obj.ETag != etag2 {
				t.Errorf("after the failed writes: %q %s, want v2 %s", obj.Data, obj.ETag, etag2)
			}
			if _, err := st.Put(ctx, key, []byte("x"), store.PutOptions{IfMatch: etag2, IfAbsent: true}); err == nil {
				t.Error("Put with both IfMatch and IfAbsent: no error")
			}
		})
	}
}

// TestConcurrentCompareAndSwap has many writers increment one counter with read,
// conditional write and retry: no increment may be lost.
func TestConcurrentCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	const writers = 40
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			key := layout.KillStateKey("production")
			if _, err := st.Put(ctx, key, []byte("0"), store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for range writers {
				wg.Go(func() {
					for attempt := 0; ; attempt++ {
						obj, err := st.Get(ctx, key, store.GetOptions{})
						if err != nil {
							errs <- err
							return
						}
						n, _ := strconv.Atoi(string(obj.Data))
						_, err = st.Put(ctx, key, []byte(strconv.Itoa(n+1)), store.PutOptions{IfMatch: obj.ETag})
						if err == nil {
							return
						}
						if !errors.Is(err, store.ErrPreconditionFailed) || attempt > 10*writers {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			obj, err := st.Get(ctx, key, store.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if string(obj.Data) != strconv.Itoa(writers) {
				t.Errorf("counter = %s after %d increments", obj.Data, writers)
			}
		})
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			keys := []string{
				"production/audit/20261126T100000.000000000Z-02.json",
				"production/audit/20261126T100000.000000000Z-01.json",
				"production/current.json",
				"production-eu/audit/20261126T100000.000000000Z-01.json",
				layout.SnapshotKey(hashA),
			}
			for _, k := range keys {
				if _, err := st.Put(ctx, k, []byte(k), store.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			tests := []struct {
				prefix string
				want   []string
			}{
				{"production/audit/", []string{keys[1], keys[0]}},
				{"production/", []string{keys[1], keys[0], keys[2]}},
				{"production", []string{keys[3], keys[1], keys[0], keys[2]}},
				{"snapshots/aaa", []string{keys[4]}},
				{"staging/", nil},
			}
			for _, tt := range tests {
				got, err := st.List(ctx, tt.prefix)
				if err != nil {
					t.Fatalf("List(%q): %v", tt.prefix, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("List(%q) = %v, want %v", tt.prefix, got, tt.want)
				}
			}
		})
	}
}

func TestInvalidKeys(t *testing.T) {
	ctx := context.Background()
	bad := []string{"", "/production/current.json", "production//current.json", "production/",
		"../escape", "production/../../etc/passwd", "production/.hidden", ".edgeflag.lock",
		"a\\b", "tab\there"}
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			for _, key := range bad {
				var ke *store.KeyError
				if _, err := st.Put(ctx, key, []byte("x"), store.PutOptions{}); !errors.As(err, &ke) {
					t.Errorf("Put(%q): err = %v, want a *KeyError", key, err)
				}
				if _, err := st.Get(ctx, key, store.GetOptions{}); !errors.As(err, &ke) {
					t.Errorf("Get(%q): err = %v, want a *KeyError", key, err)
				}
			}
		})
	}
}

func TestS3SendsHeaders(t *testing.T) {
	ctx := context.Background()
	srv := s3test.New(t, "edgeflag-headers")
	st := srv.Store(t, "edge/flags")
	tests := []struct {
		key, contentType, cacheControl string
	}{
		{layout.SnapshotKey(hashA), layout.ContentTypeSnapshot, layout.CacheImmutable},
		{layout.PointerKey("production"), layout.ContentTypeJSON, layout.CachePointer},
		{layout.BaseKey("production", hashA), layout.ContentTypeSnapshot, layout.CacheNoStore},
		{layout.KillStateKey("production"), layout.ContentTypeJSON, layout.CacheNoStore},
	}
	for _, tt := range tests {
		if _, err := st.Put(ctx, tt.key, []byte("{}"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		req, ok := srv.LastPut("edge/flags/" + tt.key)
		if !ok {
			t.Fatalf("no PUT of %s recorded", tt.key)
		}
		if got := req.Header.Get("Content-Type"); got != tt.contentType {
			t.Errorf("%s: Content-Type %q, want %q", tt.key, got, tt.contentType)
		}
		if got := req.Header.Get("Cache-Control"); got != tt.cacheControl {
			t.Errorf("%s: Cache-Control %q, want %q", tt.key, got, tt.cacheControl)
		}
		obj, err := st.Get(ctx, tt.key, store.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if obj.ContentType != tt.contentType {
			t.Errorf("%s: stored Content-Type %q, want %q", tt.key, obj.ContentType, tt.contentType)
		}
	}
}

func TestS3KeyOf(t *testing.T) {
	srv := s3test.New(t, "edgeflag-keys")
	st := srv.Store(t, "flags")
	tests := []struct {
		bucket, objectKey, want string
		ok                      bool
	}{
		{"edgeflag-keys", "flags/base/production/" + hashA + ".snap", "base/production/" + hashA + ".snap", true},
		{"other-bucket", "flags/base/production/" + hashA + ".snap", "", false},
		{"edgeflag-keys", "elsewhere/production/current.json", "", false},
		{"edgeflag-keys", "flags/", "", false},
	}
	for _, tt := range tests {
		got, ok := st.KeyOf(tt.bucket, tt.objectKey)
		if got != tt.want || ok != tt.ok {
			t.Errorf("KeyOf(%q, %q) = %q, %v; want %q, %v", tt.bucket, tt.objectKey, got, ok, tt.want, tt.ok)
		}
	}
}

func TestS3MissingBucket(t *testing.T) {
	srv := s3test.New(t, "edgeflag-exists")
	st, err := store.NewS3(srv.Client(), "edgeflag-missing", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Get(context.Background(), "production/current.json", store.GetOptions{})
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get from a missing bucket: err = %v, want an error other than ErrNotFound", err)
	}
}
