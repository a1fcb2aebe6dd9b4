package tests

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
)

// edgeCmdWithin bounds every wait of the edge command's tests: polls every 200 ms and a
// grace of 1 s put each change well inside it.
const edgeCmdWithin = 5 * time.Second

// edgeCmdStore is a directory store with the example flags published, served over HTTP
// on 127.0.0.1 as CloudFront serves the bucket. It can be stopped and started again on
// the same address.
type edgeCmdStore struct {
	st   store.Store
	addr string
	srv  *http.Server
}

func newEdgeCmdStore(t *testing.T, addr string) *edgeCmdStore {
	t.Helper()
	s := &edgeCmdStore{st: edgePublishedStore(t), addr: addr}
	t.Cleanup(s.close)
	return s
}

func (s *edgeCmdStore) url() string { return "http://" + s.addr }

func (s *edgeCmdStore) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: store.Handler(s.st), ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
}

func (s *edgeCmdStore) close() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// edgeCmdHealth is what /healthz answers.
type edgeCmdHealth struct {
	code                                                 int
	Status, Environment, Snapshot, LastError, StateError string
	Stale, Restored                                      bool
	Flags                                                int
}

func edgeCmdGetHealth(t *testing.T, base string) edgeCmdHealth {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := edgeCmdHealth{code: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	return h
}

// edgeCmdWaitHealth waits until /healthz reports status.
func edgeCmdWaitHealth(t *testing.T, base, status string) edgeCmdHealth {
	t.Helper()
	deadline := time.Now().Add(edgeCmdWithin)
	for {
		h := edgeCmdGetHealth(t, base)
		if h.Status == status {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still says %+v after %s, want %s", h, edgeCmdWithin, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// edgeCmdOFREP is one OFREP evaluation's answer.
type edgeCmdOFREP struct {
	code                       int
	Variant, Reason, ErrorCode string
	ErrorDetails               string
	Metadata                   map[string]any
}

func edgeCmdEvaluate(t *testing.T, base, flag, ctx, apiKey string) edgeCmdOFREP {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/ofrep/v1/evaluate/flags/"+flag, strings.NewReader(`{"context":`+ctx+`}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("X-API-Key", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := edgeCmdOFREP{code: resp.StatusCode}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("OFREP %s: %s: %s", flag, resp.Status, b)
		}
	}
	return out
}

// TestCLIEdge runs `edgeflag edge` as a process against a store served on 127.0.0.1: it
// serves OFREP, /evaluate and /healthz, follows a kill, turns stale when the store goes
// away and fresh when it is back, comes up with the store down, and stops cleanly on
// SIGTERM and SIGINT. Bad starts exit with the right code and message.
func TestCLIEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs edgeflag edge as a process")
	}
	bin := cliBuild(t)
	module := []string{"--wasm", edgeWasm(t), "--cache-dir", filepath.Join(edgeRoot(t), ".cache", "wazero")}
	listening := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ listening on (http://127\.0\.0\.1:\d+)$`)
	const flag = "new-search-algorithm"
	developer := `{"targetingKey":"user-42","email":"alice@company.com"}`

	t.Run("serves, follows the store, goes stale and stops", func(t *testing.T) {
		st := newEdgeCmdStore(t, "127.0.0.1:0")
		st.start(t)
		p := cliStart(t, bin, nil, append([]string{"edge", "--store-url", st.url() + "/", "--addr", "127.0.0.1:0",
			"--poll", "200ms", "--grace", "1s"}, module...)...)
		m, next := p.waitLine(t, listening, 0, edgeCmdWithin)
		if next != 1 {
			t.Errorf("the address is on line %d, want the first", next)
		}
		base := m[1]
		m, next = p.waitLine(t, regexp.MustCompile(`Z loaded production snapshot ([0-9a-f]{12}) \(revision example, 24 flags\)$`), next, edgeCmdWithin)
		first := m[1]

		h := edgeCmdGetHealth(t, base)
		if h.code != 200 || h.Status != "ok" || h.Environment != "production" || !strings.HasPrefix(h.Snapshot, first) || h.Flags != 24 || h.Stale {
			t.Fatalf("/healthz: %+v", h)
		}
		if got := edgeCmdEvaluate(t, base, flag, developer, ""); got.code != 200 || got.Variant != "on" || got.Reason != "TARGETING_MATCH" {
			t.Fatalf("a developer gets %+v, want on: the release reaches the developers ring", got)
		}
		req, _ := http.NewRequest("GET", base+"/evaluate?flag="+flag, nil)
		req.Header.Set("x-user-id", "user-42")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Flag-"+flag) == "" || resp.Header.Get("X-Edgeflag-Snapshot") != h.Snapshot {
			t.Errorf("/evaluate: %s %v", resp.Status, resp.Header)
		}

		// A kill, published as the kill-switch function does, reaches the edge.
		if _, err := publish.New(st.st).Kill(context.Background(), "production", flag, "search errors at 12%", "test"); err != nil {
			t.Fatal(err)
		}
		m, next = p.waitLine(t, regexp.MustCompile(`Z loaded production snapshot ([0-9a-f]{12}) \(revision example, 24 flags\)$`), next, edgeCmdWithin)
		if m[1] == first {
			t.Fatalf("the kill loaded the same snapshot %s", first)
		}
		if got := edgeCmdEvaluate(t, base, flag, developer, ""); got.Variant != "off" || got.Reason != "DISABLED" {
			t.Fatalf("after the kill a developer gets %+v, want off (DISABLED)", got)
		}

		// The store goes away: the last snapshot keeps serving, stale after the grace.
		st.close()
		_, next = p.waitLine(t, regexp.MustCompile(`Z polling the store failed: .*connection refused$`), next, edgeCmdWithin)
		_, next = p.waitLine(t, regexp.MustCompile(`Z stale: no poll has succeeded for 1s; answers are marked stale and keep snapshot `+m[1]+`$`), next, edgeCmdWithin)
		if h := edgeCmdWaitHealth(t, base, "stale"); h.code != 200 || !h.Stale || !strings.HasPrefix(h.Snapshot, m[1]) || h.LastError == "" {
			t.Errorf("/healthz while the store is down: %+v", h)
		}
		if got := edgeCmdEvaluate(t, base, flag, developer, ""); got.Variant != "off" || got.Metadata["stale"] != true {
			t.Errorf("a stale answer: %+v", got)
		}

		// The store is back on the same address: fresh again.
		st.start(t)
		p.waitLine(t, regexp.MustCompile(`Z fresh again: the store answers$`), next, edgeCmdWithin)
		if h := edgeCmdWaitHealth(t, base, "ok"); h.Stale || h.LastError != "" {
			t.Errorf("/healthz with the store back: %+v", h)
		}

		p.stop(t, syscall.SIGTERM)
		out := p.output()
		if n := len(out); n < 2 || !strings.HasSuffix(out[n-2], "Z stopping") || !strings.HasSuffix(out[n-1], "Z stopped") {
			t.Errorf("the last lines are not stopping, stopped: %q", out)
		}
		if s := p.stderr.String(); s != "" {
			t.Errorf("stderr: %s", s)
		}
		if _, err := http.Get(base + "/healthz"); err == nil {
			t.Error("still answering after it stopped")
		}
	})

	t.Run("comes up with the store down", func(t *testing.T) {
		st := newEdgeCmdStore(t, edgeFreeAddr(t))
		const key = "edge-cmd-test-key"
		p := cliStart(t, bin, []string{"EDGEFLAG_STORE_URL=" + st.url(), "EDGEFLAG_OFREP_API_KEYS=" + key},
			append([]string{"edge", "--addr", "127.0.0.1:0", "--poll", "200ms", "--grace", "1s"}, module...)...)
		m, next := p.waitLine(t, listening, 0, edgeCmdWithin)
		base := m[1]
		p.waitLine(t, regexp.MustCompile(`Z polling the store failed: .*connection refused \(no snapshot yet: /healthz answers 503`), next, edgeCmdWithin)

		if h := edgeCmdGetHealth(t, base); h.code != 503 || h.Status != "starting" || h.Snapshot != "" || h.LastError == "" {
			t.Errorf("/healthz before the first snapshot: %+v", h)
		}
		if got := edgeCmdEvaluate(t, base, flag, developer, key); got.code != 500 || !strings.Contains(got.ErrorDetails, "GENERAL: no snapshot loaded") {
			t.Errorf("OFREP before the first snapshot: %+v, want 500 GENERAL: no snapshot loaded", got)
		}
		if got := edgeCmdEvaluate(t, base, flag, developer, ""); got.code != 401 {
			t.Errorf("OFREP without the key: %d, want 401", got.code)
		}
		resp, err := http.Get(base + "/evaluate")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(body), `"errorMessage":"no snapshot loaded: poller: `) {
			t.Errorf("/evaluate before the first snapshot: %s %s", resp.Status, body)
		}

		st.start(t)
		p.waitLine(t, regexp.MustCompile(`Z loaded production snapshot [0-9a-f]{12} \(revision example, 24 flags\)$`), next, edgeCmdWithin)
		edgeCmdWaitHealth(t, base, "ok")
		if got := edgeCmdEvaluate(t, base, flag, developer, key); got.code != 200 || got.Variant != "on" {
			t.Errorf("OFREP once the store answers: %+v", got)
		}
		if got := edgeCmdEvaluate(t, base, flag, developer, "wrong-key"); got.code != 401 {
			t.Errorf("OFREP with a wrong key: %d, want 401", got.code)
		}
		p.stop(t, syscall.SIGINT)
	})

	t.Run("restarts from --state-dir with the store down", func(t *testing.T) {
		st := newEdgeCmdStore(t, edgeFreeAddr(t))
		st.start(t)
		stateDir := filepath.Join(t.TempDir(), "state")
		args := append([]string{"edge", "--store-url", st.url(), "--addr", "127.0.0.1:0", "--poll", "200ms", "--grace", "1s",
			"--state-dir", stateDir}, module...)
		loaded := regexp.MustCompile(`Z loaded production snapshot ([0-9a-f]{12}) \(revision example, 24 flags\)$`)

		p := cliStart(t, bin, nil, args...)
		_, next := p.waitLine(t, listening, 0, edgeCmdWithin)
		_, next = p.waitLine(t, regexp.MustCompile(`Z no state in `+regexp.QuoteMeta(stateDir)+` yet: the snapshots loaded are kept there$`), next, edgeCmdWithin)
		m, _ := p.waitLine(t, loaded, next, edgeCmdWithin)
		served := m[1]
		pointerFile := filepath.Join(stateDir, "production.pointer.json")
		deadline := time.Now().Add(edgeCmdWithin)
		for _, err := os.Stat(pointerFile); err != nil; _, err = os.Stat(pointerFile) {
			if time.Now().After(deadline) {
				t.Fatalf("no pointer kept: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		p.stop(t, syscall.SIGTERM)

		// The store goes down; the edge restarts and serves what it kept, at once.
		st.close()
		p = cliStart(t, bin, nil, args...)
		m, next = p.waitLine(t, listening, 0, edgeCmdWithin)
		base := m[1]
		m, next = p.waitLine(t, loaded, next, edgeCmdWithin)
		if m[1] != served {
			t.Fatalf("restored snapshot %s, want %s", m[1], served)
		}
		_, next = p.waitLine(t, regexp.MustCompile(`Z restored snapshot `+served+` \(pointer version \d+\) from `+regexp.QuoteMeta(stateDir)+
			`: served until a poll confirms or replaces it, stale after 1s without one$`), next, edgeCmdWithin)
		if h := edgeCmdGetHealth(t, base); h.code != 200 || h.Status != "ok" || !h.Restored || !strings.HasPrefix(h.Snapshot, served) || h.StateError != "" {
			t.Errorf("/healthz restored with the store down: %+v", h)
		}
		if got := edgeCmdEvaluate(t, base, flag, developer, ""); got.code != 200 || got.Variant != "on" || got.Reason != "TARGETING_MATCH" {
			t.Errorf("OFREP from the restored snapshot: %+v", got)
		}
		_, next = p.waitLine(t, regexp.MustCompile(`Z stale: no poll has succeeded for 1s; answers are marked stale and keep snapshot `+served+`$`), next, edgeCmdWithin)
		if h := edgeCmdWaitHealth(t, base, "stale"); h.code != 200 || !h.Restored {
			t.Errorf("/healthz restored and stale: %+v", h)
		}
		st.start(t)
		p.waitLine(t, regexp.MustCompile(`Z fresh again: the store answers$`), next, edgeCmdWithin)
		if h := edgeCmdWaitHealth(t, base, "ok"); h.Restored || h.Stale {
			t.Errorf("/healthz once the store confirms the snapshot: %+v", h)
		}
		p.stop(t, syscall.SIGTERM)

		// Corrupt state is ignored with the reason, and the edge starts as without it.
		snaps, _ := filepath.Glob(filepath.Join(stateDir, "production.*.snap"))
		if len(snaps) != 1 {
			t.Fatalf("state snapshots %q, want one", snaps)
		}
		b, _ := os.ReadFile(snaps[0])
		b[len(b)-1] ^= 0x5a
		if err := os.WriteFile(snaps[0], b, 0o600); err != nil {
			t.Fatal(err)
		}
		st.close()
		p = cliStart(t, bin, nil, args...)
		m, next = p.waitLine(t, listening, 0, edgeCmdWithin)
		p.waitLine(t, regexp.MustCompile(`Z poller: ignoring the state in `+regexp.QuoteMeta(stateDir)+`: .*content hash mismatch.*; starting without it$`), next, edgeCmdWithin)
		if h := edgeCmdGetHealth(t, m[1]); h.code != 503 || h.Status != "starting" || !strings.Contains(h.StateError, "content hash mismatch") {
			t.Errorf("/healthz after ignoring the state: %+v", h)
		}
		p.stop(t, syscall.SIGINT)
	})

	t.Run("bad starts", func(t *testing.T) {
		dir := t.TempDir()
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		res := bin.run(t, dir, append([]string{"edge", "--store-url", "http://127.0.0.1:9", "--addr", taken.Addr().String()}, module...)...)
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "edgeflag edge: listen on "+taken.Addr().String()+": ") || res.stdout != "" {
			t.Errorf("port in use: stdout %q, stderr %q", res.stdout, res.stderr)
		}
		for _, tc := range []struct {
			args   []string
			stderr string
		}{
			{[]string{"edge"}, "no store: give --store-url"},
			{[]string{"edge", "--store-url", "s3://bucket"}, "want an http:// or https:// URL"},
			{[]string{"edge", "--store-url", "http://127.0.0.1:9", "--grace", "soon"}, `invalid value "soon" for flag -grace`},
			{[]string{"edge", "--store-url", "http://127.0.0.1:9", "--listen", ":80"}, "flag provided but not defined: -listen"},
		} {
			res := bin.run(t, dir, tc.args...)
			res.expectCode(t, 2)
			if !strings.Contains(res.stderr, tc.stderr) || res.stdout != "" {
				t.Errorf("edgeflag %s: stdout %q, stderr %q, want %q", strings.Join(tc.args, " "), res.stdout, res.stderr, tc.stderr)
			}
		}
		for _, args := range [][]string{{"edge", "--help"}, {"help", "edge"}} {
			res := bin.run(t, dir, args...)
			res.expectCode(t, 0)
			if !strings.Contains(res.stdout, "Usage: edgeflag edge --store-url <url>") || !strings.Contains(res.stdout, "Example:\n  edgeflag edge ") {
				t.Errorf("edgeflag %s:\n%s", strings.Join(args, " "), res.stdout)
			}
		}
	})
}
