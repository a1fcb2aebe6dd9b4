// Package promtest runs a real Prometheus server for tests: on 127.0.0.1, on a free port,
// with its storage in a temporary directory, stopped when the test ends.
//
// A test feeds it data in one or both of two ways: samples backfilled with
// `promtool tsdb create-blocks-from openmetrics` before the server starts (see Backfill,
// deterministic and queryable at once), and targets the server scrapes every second
// (Options.Scrape, for a running instrumented service).
//
// The prometheus and promtool binaries come from Debian's prometheus package, which
// scripts/install-prometheus.sh installs. Without them a test is skipped, except under CI
// (CI=true), where it fails.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/edgeflag/edgeflag/internal/syncbuf"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Options configures a server.
type Options struct {
	// Backfill, when set, is written into the server's storage with promtool before the
	// server starts.
	Backfill *Backfill
	// Scrape lists the URLs of metrics endpoints the server scrapes (for example
	// "http://127.0.0.1:8080/metrics"), each as its own target of the job "test".
	// Prometheus applies its first target list about five seconds after it starts, so the
	// first scrape comes then: wait for the data with WaitFor.
	Scrape []string
	// ScrapeInterval is how often targets are scraped; 0 means one second.
	ScrapeInterval time.Duration
	// Args are extra command-line flags for prometheus.
	Args []string
}

// Server is a running Prometheus.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL string
	// Dir is the server's storage directory.
	Dir string

	cmd  *exec.Cmd
	logs *syncbuf.Buffer
	done chan struct{}
}

// Binaries returns the paths of prometheus and promtool. When they are not installed it
// skips the test, or fails it under CI (CI=true), with a message saying how to install them.
func Binaries(tb testing.TB) (prometheus, promtool string) {
	tb.Helper()
	var missing []string
	prometheus, err := exec.LookPath("prometheus")
	if err != nil {
		missing = append(missing, "prometheus")
	}
	promtool, err = exec.LookPath("promtool")
	if err != nil {
		missing = append(missing, "promtool")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("promtest: %s not found in PATH; run scripts/install-prometheus.sh (Debian's prometheus package)",
			strings.Join(missing, " and "))
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + " (CI=true: a missing Prometheus is a failure)")
		}
		tb.Skip(msg)
	}
	return prometheus, promtool
}

// Start starts a Prometheus server, waits until it is ready, and stops it when the test
// ends. It skips or fails the test as Binaries does when Prometheus is not installed.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	promBin, promtoolBin := Binaries(tb)
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		tb.Fatal(err)
	}
	if opts.Backfill != nil {
		if err := opts.Backfill.create(promtoolBin, dir, data); err != nil {
			tb.Fatal(err)
		}
	}
	configPath := filepath.Join(dir, "prometheus.yml")
	config, err := configYAML(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(configPath, config, 0o644); err != nil {
		tb.Fatal(err)
	}

	addr := freeAddr(tb)
	args := append([]string{
		"--config.file=" + configPath,
		"--storage.tsdb.path=" + data,
		"--web.listen-address=" + addr,
		"--web.console.templates=" + filepath.Join(dir, "consoles"),
		"--web.console.libraries=" + filepath.Join(dir, "console_libraries"),
		"--log.level=warn",
	}, opts.Args...)
	s := &Server{URL: "http://" + addr, Dir: data, logs: &syncbuf.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(promBin, args...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("promtest: starting prometheus: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	tb.Cleanup(s.stop)
	if err := s.waitReady(30 * time.Second); err != nil {
		tb.Fatalf("promtest: %v\nprometheus output:\n%s", err, s.logs.String())
	}
	return s
}

// Logs returns what the server has written to its standard output and error so far.
func (s *Server) Logs() string { return s.logs.String() }

// Stop stops the server (tests need not call it: Start stops it at cleanup). It can be
// called more than once, for example to test what a client does when Prometheus is down.
func (s *Server) Stop() { s.stop() }

func (s *Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited before it was ready (%v)", s.cmd.ProcessState)
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after %v (last: %v)", s.URL, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Query runs an instant PromQL query at time at (the server's now when zero) and returns
// the series of its vector result, or fails the test.
func (s *Server) Query(tb testing.TB, query string, at time.Time) []Sample {
	tb.Helper()
	samples, err := s.query(context.Background(), query, at)
	if err != nil {
		tb.Fatal(err)
	}
	return samples
}

// WaitFor runs query every 200 ms until it returns at least one series, and returns that
// result; it fails the test after timeout. Tests that scrape a target use it to wait for
// the first scrapes.
func (s *Server) WaitFor(tb testing.TB, query string, timeout time.Duration) []Sample {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		samples, err := s.query(context.Background(), query, time.Time{})
		if err == nil && len(samples) > 0 {
			return samples
		}
		if time.Now().After(deadline) {
			tb.Fatalf("promtest: %q returned no series within %v (last error: %v)\nprometheus output:\n%s",
				query, timeout, err, s.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Sample is one series of an instant vector.
type Sample struct {
	Labels map[string]string
	Value  float64
}

func (s *Server) query(ctx context.Context, query string, at time.Time) ([]Sample, error) {
	form := url.Values{"query": {query}}
	if !at.IsZero() {
		form.Set("time", fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v1/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("promtest: %q: decoding the answer (HTTP %d): %v", query, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("promtest: %q: %s", query, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("promtest: %q: result type %s, want vector", query, body.Data.ResultType)
	}
	out := make([]Sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		str, _ := r.Value[1].(string)
		var v float64
		if _, err := fmt.Sscan(str, &v); err != nil {
			return nil, fmt.Errorf("promtest: %q: value %q: %v", query, str, err)
		}
		out = append(out, Sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

func configYAML(opts Options) ([]byte, error) {
	interval := opts.ScrapeInterval
	if interval <= 0 {
		interval = time.Second
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", promDuration(interval), promDuration(interval))
	if len(opts.Scrape) == 0 {
		return b.Bytes(), nil
	}
	b.WriteString("scrape_configs:\n")
	for i, raw := range opts.Scrape {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("promtest: scrape target %q is not an http(s) URL", raw)
		}
		path := u.Path
		if path == "" {
			path = "/metrics"
		}
		// Each target is its own scrape config, so that each may have its own path.
		fmt.Fprintf(&b, "  - job_name: test-%d\n    scheme: %s\n    metrics_path: %q\n    scrape_interval: %s\n    scrape_timeout: %s\n",
			i, u.Scheme, path, promDuration(interval), promDuration(interval))
		if len(u.Query()) > 0 {
			b.WriteString("    params:\n")
			for k, vs := range u.Query() {
				fmt.Fprintf(&b, "      %q: [", k)
				for j, v := range vs {
					if j > 0 {
						b.WriteString(", ")
					}
					fmt.Fprintf(&b, "%q", v)
				}
				b.WriteString("]\n")
			}
		}
		fmt.Fprintf(&b, "    static_configs:\n      - targets: [%q]\n        labels:\n          job: test\n", u.Host)
	}
	return b.Bytes(), nil
}

func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
