package store_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

func TestHandler(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pointerETag, _ := st.Put(ctx, layout.PointerKey("production"), []byte(`{"snapshot":"a"}`), store.PutOptions{})
	for _, k := range []string{layout.SnapshotKey(hashA), layout.KillStateKey("production"), layout.BaseKey("production", hashA), "production/audit/x.json"} {
		if _, err := st.Put(ctx, k, []byte("data"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(store.Handler(st))
	defer srv.Close()
	tests := []struct {
		method, path, ifNoneMatch string
		status                    int
		contentType, cache        string
	}{
		{"GET", "/production/current.json", "", 200, layout.ContentTypeJSON, layout.CachePointer},
		{"HEAD", "/production/current.json", "", 200, layout.ContentTypeJSON, layout.CachePointer},
		{"GET", "/production/current.json", pointerETag, 304, "", ""},
		{"GET", "/production/current.json", `"stale"`, 200, layout.ContentTypeJSON, layout.CachePointer},
		{"GET", "/snapshots/" + hashA + ".snap", "", 200, layout.ContentTypeSnapshot, layout.CacheImmutable},
		{"GET", "/staging/current.json", "", 404, "", ""},
		{"GET", "/production/kill-state.json", "", 404, "", ""},
		{"GET", "/production/audit/x.json", "", 404, "", ""},
		{"GET", "/base/production/" + hashA + ".snap", "", 404, "", ""},
		{"GET", "/.edgeflag.lock", "", 404, "", ""},
		{"GET", "/../etc/passwd", "", 404, "", ""},
		{"PUT", "/production/current.json", "", 405, "", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if tt.ifNoneMatch != "" {
			req.Header.Set("If-None-Match", tt.ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s (If-None-Match %q): %d, want %d", tt.method, tt.path, tt.ifNoneMatch, resp.StatusCode, tt.status)
			continue
		}
		if tt.status == 200 {
			if resp.Header.Get("Content-Type") != tt.contentType || resp.Header.Get("Cache-Control") != tt.cache || resp.Header.Get("ETag") == "" {
				t.Errorf("%s %s: headers %v", tt.method, tt.path, resp.Header)
			}
		}
	}
}
