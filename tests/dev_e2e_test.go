package tests

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// devVisibleWithin is the longest a kill or an edit of a flag file may take to reach the
// edge's answers under `edgeflag dev`.
const devVisibleWithin = 5 * time.Second

// devStart runs the binary's dev command in dir, on a free port of 127.0.0.1.
func devStart(t *testing.T, bin *cliBinary, dir string, args ...string) *cliProcess {
	t.Helper()
	return cliStartIn(t, bin, dir, nil, true, append([]string{"dev", "--addr", "127.0.0.1:0"}, args...)...)
}

// devOFREP evaluates flag for ctx through the edge's OFREP endpoint and returns the
// variant, the reason and the metadata's snapshot.
func devOFREP(t *testing.T, base, flag, ctx string) (variant, reason string) {
	t.Helper()
	resp, err := http.Post(base+"/ofrep/v1/evaluate/flags/"+flag, "application/json", strings.NewReader(`{"context":`+ctx+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Variant, Reason string
		Metadata        map[string]any
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("OFREP %s: %s %s", flag, resp.Status, b)
	}
	reason = out.Reason
	if r, ok := out.Metadata["reason"].(string); ok {
		reason = r // the evaluator's own reason (DEFAULT goes out as UNKNOWN)
	}
	return out.Variant, reason
}

// devWaitVariant waits until the edge answers want for flag and ctx, and returns how long
// that took from start.
func devWaitVariant(t *testing.T, base, flag, ctx, want string, start time.Time) time.Duration {
	t.Helper()
	for {
		got, reason := devOFREP(t, base, flag, ctx)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > devVisibleWithin {
			t.Fatalf("%s for %s is still %s (%s) %s after the change, want %s", flag, ctx, got, reason, devVisibleWithin, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// devAPI calls the kill-switch API.
func devAPI(t *testing.T, base, token, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
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
	return resp.StatusCode, b
}

func devHealth(t *testing.T, base string) (snapshot string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ Snapshot, Status string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Status != "ok" {
		t.Fatalf("/healthz: %+v %v", h, err)
	}
	return h.Snapshot
}

// TestDevEndToEnd runs `edgeflag dev` as a process on a copy of flags/ and drives it as a
// developer would with curl: a kill through the API and an edit of a flag file both reach
// the edge's OFREP answers within devVisibleWithin; a broken file is reported with its
// file and line while the last good snapshot keeps serving, and fixing it recovers; Ctrl-C
// stops it cleanly.
func TestDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs edgeflag dev as a process")
	}
	bin := cliBuild(t)
	work := cliExampleFlags(t)
	const token = "dev-e2e-token-0123456789"
	p := devStart(t, bin, work, "--dir", "flags", "--store", "store", "--token", token,
		"--wasm", edgeWasm(t), "--cache-dir", filepath.Join(edgeRoot(t), ".cache", "wazero"))

	m, next := p.waitLine(t, regexp.MustCompile(`^edgeflag dev: (http://127\.0\.0\.1:\d+) `), 0, time.Minute)
	base := m[1]
	p.waitLine(t, regexp.MustCompile(`^Token: `+token+` `), next, time.Second)
	p.waitLine(t, regexp.MustCompile(regexp.QuoteMeta(`curl -s -X POST `+base+`/flags/new-search-algorithm/kill -H 'Authorization: Bearer `+token+`'`)), next, time.Second)

	const flag = "new-search-algorithm"
	developer := `{"targetingKey":"user-42","email":"alice@company.com"}`
	if v, reason := devOFREP(t, base, flag, developer); v != "on" || reason != "TARGETING_MATCH" {
		t.Fatalf("a developer gets %s (%s), want on: the release reaches the developers ring", v, reason)
	}

	t.Run("kill through the API", func(t *testing.T) {
		if status, _ := devAPI(t, base, "", "/flags/"+flag+"/kill", `{"environment":"production","reason":"no token"}`); status != 401 {
			t.Fatalf("kill without the token: %d", status)
		}
		start := time.Now()
		status, body := devAPI(t, base, token, "/flags/"+flag+"/kill", `{"environment":"production","reason":"search errors at 12%"}`)
		if status != 200 {
			t.Fatalf("kill: %d %s", status, body)
		}
		latency := devWaitVariant(t, base, flag, developer, "off", start)
		t.Logf("kill → edge answers off: %v", latency.Round(time.Millisecond))
		if _, reason := devOFREP(t, base, flag, developer); reason != "DISABLED" {
			t.Errorf("killed flag reason %s, want DISABLED", reason)
		}
		start = time.Now()
		if status, body := devAPI(t, base, token, "/flags/"+flag+"/unkill", `{"environment":"production","reason":"fixed"}`); status != 200 {
			t.Fatalf("unkill: %d %s", status, body)
		}
		t.Logf("unkill → edge answers on: %v", devWaitVariant(t, base, flag, developer, "on", start).Round(time.Millisecond))
	})

	// A user the canary does not reach: off until the release moves to everyone.
	var outsider string
	for i := range 200 {
		ctx := `{"targetingKey":"user-` + strconv.Itoa(i) + `"}`
		if v, reason := devOFREP(t, base, flag, ctx); v == "off" && reason == "DEFAULT" {
			outsider = ctx
			break
		}
	}
	if outsider == "" {
		t.Fatal("no user outside the canary among 200")
	}
	file := filepath.Join(work, "flags", "search", "new-search-algorithm.yaml")
	original, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(t *testing.T, content string) time.Time {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	release := func(ring string) string {
		return strings.Replace(string(original), "release: { ring: canary, variant: on }", "release: { ring: "+ring+", variant: on }", 1)
	}
	if release("everyone") == string(original) {
		t.Fatal("new-search-algorithm.yaml no longer releases to the canary ring")
	}

	t.Run("edit a flag file", func(t *testing.T) {
		mark := len(p.output())
		start := edit(t, release("everyone"))
		latency := devWaitVariant(t, base, flag, outsider, "on", start)
		t.Logf("edit (release to everyone) → edge answers on: %v", latency.Round(time.Millisecond))
		p.waitLine(t, regexp.MustCompile(`published  production snapshot [0-9a-f]{12} \(was [0-9a-f]{12}\)`), mark, time.Second)
	})

	t.Run("broken file keeps the last good snapshot", func(t *testing.T) {
		good := devHealth(t, base)
		mark := len(p.output())
		// An unclosed flow mapping on line 15.
		edit(t, strings.Replace(release("everyone"), "release: { ring: everyone, variant: on }", "release: { ring: early-majority, variant: on", 1))
		_, next := p.waitLine(t, regexp.MustCompile(`flags/search/new-search-algorithm\.yaml:\d+(:\d+)?: `), mark, devVisibleWithin)
		p.waitLine(t, regexp.MustCompile(`problems?: nothing published; the edge keeps serving snapshot `+good[:12]), next-1, time.Second)
		time.Sleep(1500 * time.Millisecond) // more than an edge poll
		if now := devHealth(t, base); now != good {
			t.Errorf("the edge moved from %s to %s while the flags were broken", good, now)
		}
		if v, _ := devOFREP(t, base, flag, outsider); v != "on" {
			t.Errorf("the last good snapshot is not served: %s", v)
		}

		start := edit(t, release("developers"))
		latency := devWaitVariant(t, base, flag, outsider, "off", start)
		t.Logf("fix (release to developers) → edge answers off: %v", latency.Round(time.Millisecond))
	})

	t.Run("stops on SIGINT", func(t *testing.T) {
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-p.done:
			var exit *exec.ExitError
			if errors.As(err, &exit) || err != nil {
				t.Fatalf("exit after SIGINT: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("edgeflag dev still running 10 s after SIGINT")
		}
		if out := strings.Join(p.output(), "\n"); !strings.Contains(out, "edgeflag dev: stopping") {
			t.Errorf("no stopping line:\n%s", out)
		}
		if _, err := http.Get(base + "/healthz"); err == nil {
			t.Error("still answering after it stopped")
		}
	})
}

// TestDevRefusesBadStarts: a taken port and a short token are errors, reported before
// anything is served.
func TestDevRefusesBadStarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs edgeflag dev as a process")
	}
	bin := cliBuild(t)
	work := cliExampleFlags(t)
	res := bin.run(t, work, "dev", "--token", "short")
	res.expectCode(t, 2)
	if !strings.Contains(res.stderr, "at least 16 characters") {
		t.Errorf("short token: %s", res.stderr)
	}
	res = bin.run(t, work, "dev", "--env", "qa")
	res.expectCode(t, 2)
	if !strings.Contains(res.stderr, `unknown environment "qa"`) {
		t.Errorf("unknown environment: %s", res.stderr)
	}

	first := devStart(t, bin, work, "--store", "store", "--wasm", edgeWasm(t), "--cache-dir", filepath.Join(edgeRoot(t), ".cache", "wazero"))
	m, _ := first.waitLine(t, regexp.MustCompile(`^edgeflag dev: http://(127\.0\.0\.1:\d+) `), 0, time.Minute)
	res = bin.run(t, work, "dev", "--addr", m[1], "--store", "store2", "--wasm", edgeWasm(t))
	res.expectCode(t, 1)
	if !strings.Contains(res.stderr, "listen on "+m[1]) {
		t.Errorf("port in use: %s", res.stderr)
	}
	first.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-first.done; err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	// Restarting on the same store with the same files publishes nothing new.
	again := devStart(t, bin, work, "--store", "store", "--wasm", edgeWasm(t), "--cache-dir", filepath.Join(edgeRoot(t), ".cache", "wazero"))
	again.waitLine(t, regexp.MustCompile(`^edgeflag dev: http://`), 0, time.Minute)
	out := strings.Join(again.output(), "\n")
	if !strings.Contains(out, "unchanged  production snapshot") || strings.Contains(out, "published  production") {
		t.Errorf("restart on the same files:\n%s", out)
	}
	again.cmd.Process.Signal(syscall.SIGTERM)
	<-again.done
}
