package tests

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/internal/edgeserver"
	"github.com/edgeflag/edgeflag/poller/storetest"
)

// TestEdgeServerMatchesWorker holds the Go edge server's GET /evaluate to the Cloudflare
// Worker's /.edgeflag/flags: for the same store and the same request headers both answer
// the same bytes — snapshot, staleness, the context built from the request, and the
// module's results — fresh, and stale once the store has been down for the grace period.
func TestEdgeServerMatchesWorker(t *testing.T) {
	edgeRequireJS(t)
	_, data := edgeExampleSnapshot(t, "production")
	st := storetest.New()
	defer st.Close()
	hash := st.Publish("production", data)
	const grace = 1500 * time.Millisecond

	worker := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{
		"EDGEFLAG_STORE_URL=" + st.URL, "EDGEFLAG_ENVIRONMENT=production",
		"EDGEFLAG_POLL_INTERVAL_MS=100", "EDGEFLAG_GRACE_MS=1500",
	}, nil)
	goEdge, base := edgeServerStart(t, edgeserver.Config{StoreURL: st.URL, PollInterval: 100 * time.Millisecond, Grace: grace})
	if h := goEdge.Health(); h.Snapshot != hash {
		t.Fatalf("the Go edge serves %q, want %s", h.Snapshot, hash)
	}

	requests := [][]string{
		{"x-user-id", "user-42", "cf-ipcountry", "de", "user-agent", "Mozilla/5.0 (iPhone)"},
		{"cookie", "theme=dark; edgeflag_uid=user%2D7", "cf-ipcountry", "FR"},
		{"x-user-id", "alice", "cookie", "edgeflag_uid=someone-else"},
		{"user-agent", "curl/8.5.0"},
		{},
	}
	get := func(url string, header []string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", "")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// compare asks both edges; a schedule step could pass between the two requests, so a
	// difference is confirmed by asking again.
	compare := func(header []string) {
		t.Helper()
		var goBody, workerBody string
		for range 2 {
			var gs, ws int
			gs, goBody = get(base+"/evaluate", header)
			ws, workerBody = get(worker+"/.edgeflag/flags", header)
			if gs != 200 || ws != 200 {
				t.Fatalf("headers %v: Go edge %d, Worker %d", header, gs, ws)
			}
			if goBody == workerBody {
				return
			}
		}
		t.Errorf("headers %v:\nGo edge %s\nWorker  %s", header, goBody, workerBody)
	}
	waitWorker := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, body := get(worker+"/.edgeflag/flags", nil); cond(body) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the Worker never became %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitWorker("ready", func(b string) bool { return len(b) > 0 && b[0] == '{' && strings.Contains(b, hash) })
	for _, h := range requests {
		compare(h)
	}

	st.SetFault(storetest.Failing)
	waitWorker("stale", func(b string) bool { return strings.Contains(b, `"stale":true`) })
	deadline := time.Now().Add(10 * time.Second)
	for !goEdge.Health().Stale {
		if time.Now().After(deadline) {
			t.Fatal("the Go edge never became stale")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, h := range requests {
		compare(h)
	}
}
