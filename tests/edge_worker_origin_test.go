package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller/storetest"
)

// TestEdgeWorkerOrigin runs the Worker in workerd (as `make edge-worker` does) without an
// origin and with its own address as the origin: every request to a forwarded path gets a
// JSON 502 saying why, instead of the Worker fetching itself until workerd runs out of
// file descriptors, and the flags path keeps answering.
func TestEdgeWorkerOrigin(t *testing.T) {
	_, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	store.Publish("production", data)
	origin := newEdgeOrigin(t)
	client := &http.Client{Timeout: 10 * time.Second}

	tests := []struct {
		name   string
		origin string // EDGEFLAG_ORIGIN_URL; {{addr}} and {{port}} are the Worker's
		status int
		want   string // in the body
	}{
		{"no origin", "", http.StatusBadGateway, "no origin configured: set EDGEFLAG_ORIGIN_URL"},
		{"its own address", "http://{{addr}}", http.StatusBadGateway, "is this Worker itself: forwarding would loop"},
		{"itself by another name", "http://localhost:{{port}}", http.StatusBadGateway, "is this Worker itself: forwarding would loop"},
		{"an origin", origin.URL, http.StatusOK, "origin saw /checkout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := []string{"EDGEFLAG_STORE_URL=" + store.URL, "EDGEFLAG_ENVIRONMENT=production"}
			if tt.origin != "" {
				env = append(env, "EDGEFLAG_ORIGIN_URL="+tt.origin)
			}
			base := edgeWorkerd(t, "edge/cloudflare/config.capnp", env, nil)
			get := func(path string) (int, string, string) {
				t.Helper()
				resp, err := client.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
			}
			// Twice: a Worker that looped would not answer the second time.
			for range 2 {
				status, ctype, body := get("/checkout")
				if status != tt.status || !strings.Contains(body, tt.want) {
					t.Fatalf("GET /checkout: %d %s, want %d with %q", status, body, tt.status, tt.want)
				}
				if status != http.StatusOK {
					var e struct{ ErrorCode, ErrorMessage string }
					if err := json.Unmarshal([]byte(body), &e); err != nil || ctype != "application/json" || e.ErrorCode != "GENERAL" {
						t.Errorf("GET /checkout: %s %s, want a JSON error (%v)", ctype, body, err)
					}
				}
			}
			if status, _, body := get("/.edgeflag/flags"); status != http.StatusOK || !strings.Contains(body, `"results"`) {
				t.Errorf("GET /.edgeflag/flags: %d %s", status, body)
			}
		})
	}
}
