package devstack

import (
	"context"
	"encoding/json"
	"github.com/edgeflag/edgeflag/internal/syncbuf"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

var (
	moduleOnce sync.Once
	module     *Module
	moduleErr  error
)

// testModule builds the evaluator module from the sources once per test binary.
func testModule(t *testing.T) []byte {
	t.Helper()
	moduleOnce.Do(func() { module, moduleErr = LoadModule(context.Background(), "") })
	if moduleErr != nil {
		t.Fatal(moduleErr)
	}
	return module.Wasm
}

// startStack starts a stack on a copy of the example flags, with short intervals.
func startStack(t *testing.T, cfg Config) (*Stack, *syncbuf.Buffer) {
	t.Helper()
	out := &syncbuf.Buffer{}
	if cfg.Dir == "" {
		cfg.Dir = copyFlags(t)
	}
	if cfg.Store == "" {
		cfg.Store = t.TempDir()
	}
	cache, _ := filepath.Abs("../../.cache/wazero")
	cfg.Addr, cfg.Module, cfg.CacheDir, cfg.Out = "127.0.0.1:0", testModule(t), cache, out
	cfg.WatchInterval, cfg.EdgePollInterval = 50*time.Millisecond, 100*time.Millisecond
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
	})
	return s, out
}

func get(t *testing.T, method, url, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// waitOutput waits until the output matches re.
func waitOutput(t *testing.T, out *syncbuf.Buffer, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !re.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the output never matched %s", re)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func edgeSnapshot(t *testing.T, s *Stack) string {
	t.Helper()
	_, _, body := get(t, "GET", s.URL()+"/healthz", "", "")
	var h struct{ Snapshot string }
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/healthz: %s", body)
	}
	return h.Snapshot
}

// TestStackRoutes: one address serves the store, the kill-switch API and the edge.
func TestStackRoutes(t *testing.T) {
	s, out := startStack(t, Config{})
	u, token := s.URL(), s.Token()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(u) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("URL %s, token %s", u, token)
	}
	ptr, _, err := publish.ReadPointer(context.Background(), s.Store(), "production")
	if err != nil || ptr == nil {
		t.Fatalf("nothing published: %v", err)
	}
	if got := edgeSnapshot(t, s); got != ptr.Snapshot {
		t.Fatalf("the edge serves %q, the pointer names %s", got, ptr.Snapshot)
	}
	tests := []struct {
		method, path, token, body string
		status                    int
		contains                  string
	}{
		{"GET", "/", "", "", 200, "Bearer $TOKEN"},
		{"POST", "/", "", "", 405, ""},
		{"GET", "/production/current.json", "", "", 200, `"snapshot": "` + ptr.Snapshot + `"`},
		{"GET", "/snapshots/" + ptr.Snapshot + ".snap", "", "", 200, ""},
		{"GET", "/production/kill-state.json", "", "", 404, ""},
		{"GET", "/flags", "", "", 401, "unauthorized"},
		{"GET", "/flags?environment=production", token, "", 200, `"new-search-algorithm"`},
		{"POST", "/flags/no-such-flag/kill", token, `{"environment":"production","reason":"r"}`, 404, "unknown_flag"},
		{"POST", "/publish", token, `{"environment":"production"}`, 200, ptr.Snapshot},
		{"GET", "/healthz", "", "", 200, `"status":"ok"`},
		{"GET", "/evaluate?flag=new-search-algorithm", "", "", 200, `"key":"new-search-algorithm"`},
		{"POST", "/ofrep/v1/evaluate/flags/new-search-algorithm", "", `{"context":{"targetingKey":"u1"}}`, 200, `"key":"new-search-algorithm"`},
		{"GET", "/nothing-here", "", "", 404, ""},
	}
	for _, tc := range tests {
		status, _, body := get(t, tc.method, u+tc.path, tc.token, tc.body)
		if status != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, status, body)
		}
		if tc.path == "/" && strings.Contains(body, token) {
			t.Error("GET / shows the token")
		}
	}
	banner := out.String()
	for _, want := range []string{
		"edgeflag dev: " + u + "  (flags: ",
		"Token: " + token + " ",
		"curl -s -X POST " + u + "/ofrep/v1/evaluate/flags/new-search-algorithm ",
		"curl -s -X POST " + u + "/flags/new-search-algorithm/kill -H 'Authorization: Bearer " + token + "'",
		"curl -s '" + u + "/flags?environment=production' -H 'Authorization: Bearer " + token + "'",
		"api: GET /flags?environment=production → 200",
		"api: GET /flags → 401",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

// TestStackFollowsEdits: an edit is published and served; a broken file is reported and
// the last good snapshot keeps serving; a kill survives both.
func TestStackFollowsEdits(t *testing.T) {
	dir := copyFlags(t)
	s, out := startStack(t, Config{Dir: dir, Token: "a-token-of-sixteen-chars"})
	first := edgeSnapshot(t, s)
	if status, _, body := get(t, "POST", s.URL()+"/flags/weather-widget/kill", "a-token-of-sixteen-chars",
		`{"environment":"production","reason":"p99 doubled"}`); status != 200 {
		t.Fatalf("kill: %d %s", status, body)
	}
	file := filepath.Join(dir, "search", "new-search-algorithm.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), "ring: canary,", "ring: everyone,", 1)
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, regexp.MustCompile(`published  production snapshot [0-9a-f]{12} \(was [0-9a-f]{12}\), killed: weather-widget`))
	deadline := time.Now().Add(5 * time.Second)
	for edgeSnapshot(t, s) == first {
		if time.Now().After(deadline) {
			t.Fatal("the edge never served the edit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	good := edgeSnapshot(t, s)

	if err := os.WriteFile(file, []byte(edited+"rules: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, regexp.MustCompile(`new-search-algorithm\.yaml:\d+(:\d+)?: .*\n.*problems?: nothing published; the edge keeps serving snapshot `+good[:12]))
	time.Sleep(300 * time.Millisecond) // several edge polls
	if now := edgeSnapshot(t, s); now != good {
		t.Errorf("the edge moved to %s while the flags were broken", now)
	}
}

// TestStackWithoutItsEnvironment: a project without the edge's environment is reported.
func TestStackWithoutItsEnvironment(t *testing.T) {
	_, out := startStack(t, Config{Environment: "qa"})
	if !strings.Contains(out.String(), `the project has no environment "qa" (it has staging, production)`) {
		t.Errorf("output:\n%s", out)
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	wasm := testModule(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no directory", Config{Module: wasm}, "no flag directory"},
		{"no module", Config{Dir: "flags"}, "no evaluator module"},
		{"bad environment", Config{Dir: "flags", Module: wasm, Environment: "Prod!"}, "invalid environment"},
		{"short token", Config{Dir: "flags", Module: wasm, Token: "short"}, "at least 16 characters"},
		{"bad store", Config{Dir: "flags", Module: wasm, Store: "ftp://x"}, "unknown scheme"},
		{"address in use", Config{Dir: "flags", Module: wasm, Store: t.TempDir(), Addr: l.Addr().String()}, "listen on " + l.Addr().String()},
		{"not a module", Config{Dir: "flags", Module: []byte("\x00asm\x01\x00\x00\x00"), Store: t.TempDir(), Addr: "127.0.0.1:0"}, "evaluator module"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestStackSigned: with a Signer the stack signs its pointers (the publish at start and a
// kill through the API) and its edge requires them: a tampered pointer is refused.
func TestStackSigned(t *testing.T) {
	key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startStack(t, Config{Signer: key, Token: "a-token-of-sixteen-chars"})
	ctx := context.Background()
	ptr, _, err := publish.ReadPointer(ctx, s.Store(), "production")
	if err != nil || ptr.KeyID != signing.KeyID(key.PublicKey()) || ptr.Signature == "" {
		t.Fatalf("pointer %+v, %v", ptr, err)
	}
	if got := edgeSnapshot(t, s); got != ptr.Snapshot {
		t.Fatalf("the edge serves %q, the pointer names %s", got, ptr.Snapshot)
	}
	status, _, body := get(t, "POST", s.URL()+"/flags/new-search-algorithm/kill", "a-token-of-sixteen-chars", `{"environment":"production","reason":"r"}`)
	if status != 200 {
		t.Fatalf("kill: %d %s", status, body)
	}
	killed, _, _ := publish.ReadPointer(ctx, s.Store(), "production")
	ring, _ := signing.NewKeyring(key.PublicKey())
	if err := ring.Verify("production", killed.Snapshot, killed.Version, signing.Signature{KeyID: killed.KeyID, Value: killed.Signature}); err != nil || killed.Version <= ptr.Version {
		t.Fatalf("after the kill: version %d: %v", killed.Version, err)
	}
	// Someone with write access to the store points production at the first snapshot again.
	killed.Snapshot = ptr.Snapshot
	data, _ := json.Marshal(killed)
	if _, err := s.Store().Put(ctx, layout.PointerKey("production"), data, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _, body = get(t, "GET", s.URL()+"/healthz", "", "")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(body, "signature does not verify") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, _, body = get(t, "GET", s.URL()+"/healthz", "", "")
	}
	if !strings.Contains(body, "signature does not verify") || !strings.Contains(body, `"signatures":"required"`) {
		t.Fatalf("/healthz after a tampered pointer: %s", body)
	}
}
