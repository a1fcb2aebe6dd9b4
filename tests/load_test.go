package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/edgeflag/edgeflag/internal/syncbuf"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The load test runs `edgeflag dev` as one process and `edgeflag-load` as a second one on
// 127.0.0.1: a bounded load on the OFREP endpoint of the edge, once as is and once with a
// kill through the kill-switch API in the middle. It requires no errors, the answer to flip
// after the kill, and the server's resident memory to stay flat.
//
// EDGEFLAG_LOAD_DURATION (default 3s, at most 1m) and EDGEFLAG_LOAD_CONCURRENCY (default 8)
// set the runs; `make bench-load` runs them for 30 s and prints the table of
// docs/benchmarks.md. -short skips the test.

const (
	loadToken = "load-test-token-0123456789"
	loadFlag  = "new-search-algorithm"
	// loadBody is a user in the developers ring: the flag serves "on" until it is killed.
	loadBody = `{"context":{"targetingKey":"user-1001","email":"alice@company.com","groups":["engineering@company.com"]}}`
	// loadRSSGrowth bounds how much the server's resident memory may grow over the warm-up
	// level during the runs.
	loadRSSGrowth = 16 << 20
)

// loadReport is what edgeflag-load --json prints.
type loadReport struct {
	Requests   uint64  `json:"requests"`
	Errors     uint64  `json:"errors"`
	Throughput float64 `json:"throughput"`
	Seconds    float64 `json:"seconds"`
	LatencyMs  struct {
		P50, P90, P99, Max float64
	} `json:"latencyMs"`
	Statuses     map[string]uint64 `json:"statuses"`
	ErrorSamples []string          `json:"errorSamples"`
}

// loadBuild builds a command of the repository into dir and returns its path.
func loadBuild(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = edgeRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// loadCopyDir copies the regular files of src (recursively) to dst.
func loadCopyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// loadSetting reads a duration or an integer from the environment.
func loadSetting(name, fallback string) string {
	v := os.Getenv(name)
	if v == "" {
		return fallback
	}
	return v
}

// loadDev starts `edgeflag dev` on a copy of flags/ and waits until its edge serves. It
// returns the base URL and the process.
func loadDev(t *testing.T, bin, dir string) (string, *exec.Cmd) {
	t.Helper()
	flags := filepath.Join(dir, "flags")
	loadCopyDir(t, filepath.Join(edgeRoot(t), "flags"), flags)
	addr := edgeFreeAddr(t)
	cmd := exec.Command(bin, "dev", "--addr", addr, "--dir", flags, "--store", filepath.Join(dir, "store"),
		"--token", loadToken, "--wasm", edgeWasm(t), "--cache-dir", filepath.Join(dir, "wazero-cache"))
	logs := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("edgeflag dev output:\n%s", logs)
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cmd
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("edgeflag dev did not serve within 60 s (%v):\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadRun runs edgeflag-load against url as a process and decodes its report.
func loadRun(t *testing.T, bin, url, duration, concurrency string) loadReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--url", url, "--body", loadBody, "--duration", duration,
		"--concurrency", concurrency, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r loadReport
	if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil {
		t.Fatalf("edgeflag-load: %v %v\n%s%s", err, jerr, stdout.String(), stderr.String())
	}
	if err != nil || r.Errors != 0 || r.Requests == 0 || r.Statuses["200"] != r.Requests {
		t.Errorf("edgeflag-load: %v: %d requests, %d errors, statuses %v, samples %q", err, r.Requests, r.Errors, r.Statuses, r.ErrorSamples)
	}
	return r
}

// loadVariant asks the edge for the flag's variant and decision.
func loadVariant(base string) (variant, decision string, err error) {
	resp, err := http.Post(base+"/ofrep/v1/evaluate/flags/"+loadFlag, "application/json", strings.NewReader(loadBody))
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var r struct {
		Variant  string `json:"variant"`
		Metadata struct {
			Decision string `json:"decision"`
		} `json:"metadata"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &r) != nil {
		return "", "", fmt.Errorf("OFREP %s: %s %s", loadFlag, resp.Status, b)
	}
	return r.Variant, r.Metadata.Decision, nil
}

// loadRSS returns the resident memory of process pid in bytes (Linux), or -1.
func loadRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

func TestLoadEdgeDev(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the load test")
	}
	duration := loadSetting("EDGEFLAG_LOAD_DURATION", "3s")
	concurrency := loadSetting("EDGEFLAG_LOAD_CONCURRENCY", "8")
	runFor, err := time.ParseDuration(duration)
	if err != nil || runFor <= 0 || runFor > time.Minute {
		t.Fatalf("EDGEFLAG_LOAD_DURATION=%q: want a duration up to 1m", duration)
	}
	dir := t.TempDir()
	devBin := loadBuild(t, dir, "./cmd/edgeflag")
	loadBin := loadBuild(t, dir, "./cmd/edgeflag-load")
	base, dev := loadDev(t, devBin, filepath.Join(dir, "dev"))
	url := base + "/ofrep/v1/evaluate/flags/" + loadFlag
	pid := dev.Process.Pid

	if v, d, err := loadVariant(base); v != "on" || d != "ring" {
		t.Fatalf("before the runs %s is %s (decision %s, %v), want on (ring)", loadFlag, v, d, err)
	}
	// Warm up (instances created, code paged in), then take the reference level.
	loadRun(t, loadBin, url, "1s", concurrency)
	rss0 := loadRSS(pid)

	steady := loadRun(t, loadBin, url, duration, concurrency)
	rss1 := loadRSS(pid)

	// The same load with a kill half way: no request may fail, and the answer must flip.
	type flip struct {
		after time.Duration
		err   error
	}
	flipped := make(chan flip, 1)
	go func() {
		time.Sleep(runFor / 2)
		req, _ := http.NewRequest("POST", base+"/flags/"+loadFlag+"/kill",
			strings.NewReader(`{"environment":"production","reason":"load test: kill under load"}`))
		req.Header.Set("Authorization", "Bearer "+loadToken)
		killedAt := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			flipped <- flip{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"killed": true`) && !strings.Contains(string(b), `"killed":true`) {
			flipped <- flip{err: fmt.Errorf("kill: %s %s", resp.Status, b)}
			return
		}
		for time.Since(killedAt) < 15*time.Second {
			if v, d, _ := loadVariant(base); v == "off" && d == "kill" {
				flipped <- flip{after: time.Since(killedAt)}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		flipped <- flip{err: fmt.Errorf("the edge still serves %s 15 s after the kill", loadFlag)}
	}()
	killed := loadRun(t, loadBin, url, duration, concurrency)
	f := <-flipped
	if f.err != nil {
		t.Fatal(f.err)
	}
	if v, d, err := loadVariant(base); v != "off" || d != "kill" {
		t.Errorf("after the kill %s is %s (decision %s, %v), want off (kill)", loadFlag, v, d, err)
	}
	rss2 := loadRSS(pid)

	if rss0 > 0 {
		for _, r := range []struct {
			name string
			rss  int64
		}{{"steady run", rss1}, {"run with a kill", rss2}} {
			if r.rss-rss0 > loadRSSGrowth {
				t.Errorf("server RSS grew from %.1f MiB to %.1f MiB after the %s (bound: +%d MiB)",
					mib(rss0), mib(r.rss), r.name, loadRSSGrowth>>20)
			}
		}
	}
	t.Logf("edgeflag dev under edgeflag-load (%s, %s workers, %d CPUs), POST %s:", duration, concurrency, runtime.NumCPU(), "/ofrep/v1/evaluate/flags/"+loadFlag)
	t.Logf("| run | requests | errors | throughput | p50 | p90 | p99 | max | server RSS after |")
	t.Logf("|---|---|---|---|---|---|---|---|---|")
	t.Logf("| warm-up (1s) | | | | | | | | %.1f MiB |", mib(rss0))
	for _, r := range []struct {
		name string
		rep  loadReport
		rss  int64
	}{{"steady", steady, rss1}, {"kill at " + (runFor / 2).String(), killed, rss2}} {
		t.Logf("| %s | %d | %d | %.0f req/s | %.2f ms | %.2f ms | %.2f ms | %.1f ms | %.1f MiB |", r.name, r.rep.Requests, r.rep.Errors,
			r.rep.Throughput, r.rep.LatencyMs.P50, r.rep.LatencyMs.P90, r.rep.LatencyMs.P99, r.rep.LatencyMs.Max, mib(r.rss))
	}
	t.Logf("kill → edge answers off: %s", f.after.Round(time.Millisecond))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
