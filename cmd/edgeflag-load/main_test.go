package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/snapshot"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		want  string // error text, "" for none
		check func(*config) bool
	}{
		{"defaults", []string{"--url", "http://127.0.0.1:8080/healthz"}, "", func(c *config) bool {
			return c.method == "GET" && c.body == nil && c.duration == 10*time.Second && c.concurrency == 8 && c.rate == 0 && !c.json
		}},
		{"body makes a JSON POST", []string{"--url", "http://127.0.0.1:1/x", "--body", `{"context":{}}`}, "", func(c *config) bool {
			return c.method == "POST" && string(c.body) == `{"context":{}}` && c.header.Get("Content-Type") == "application/json"
		}},
		{"body from a file", []string{"--url", "http://localhost:1/x", "--body", "@testdata/bulk-request.json"}, "", func(c *config) bool {
			return bytes.HasPrefix(c.body, []byte(`{"context":{"targetingKey":"user-1001"`))
		}},
		{"headers and method", []string{"--url", "http://[::1]:1/x", "--method", "put", "--header", "Authorization: Bearer abc", "--header", "X-A:1"}, "", func(c *config) bool {
			return c.method == "PUT" && c.header.Get("Authorization") == "Bearer abc" && c.header.Get("X-A") == "1"
		}},
		{"127/8 and a rate", []string{"--url", "https://127.0.0.2:1/", "--rate", "250", "--duration", "60s", "--concurrency", "1024", "--json"}, "", func(c *config) bool {
			return c.rate == 250 && c.duration == time.Minute && c.concurrency == 1024 && c.json
		}},
		{"no url", nil, "--url is required", nil},
		{"remote host", []string{"--url", "http://example.com/"}, "refusing a target that is not on this machine", nil},
		{"private address", []string{"--url", "http://10.0.0.1:8080/"}, "refusing a target that is not on this machine", nil},
		{"unspecified address", []string{"--url", "http://0.0.0.0:8080/"}, "refusing a target that is not on this machine", nil},
		{"a name that ends in localhost", []string{"--url", "http://evil-localhost.example/"}, "refusing a target", nil},
		{"scheme", []string{"--url", "ftp://127.0.0.1/"}, "the scheme must be http or https", nil},
		{"no host", []string{"--url", "http:///x"}, "no host", nil},
		{"too long", []string{"--url", "http://127.0.0.1/", "--duration", "61s"}, "--duration 1m1s: at most 1m0s", nil},
		{"zero duration", []string{"--url", "http://127.0.0.1/", "--duration", "0s"}, "must be positive", nil},
		{"concurrency", []string{"--url", "http://127.0.0.1/", "--concurrency", "0"}, "between 1 and 1024", nil},
		{"too many workers", []string{"--url", "http://127.0.0.1/", "--concurrency", "1025"}, "between 1 and 1024", nil},
		{"negative rate", []string{"--url", "http://127.0.0.1/", "--rate", "-1"}, "--rate -1", nil},
		{"bad header", []string{"--url", "http://127.0.0.1/", "--header", "no colon"}, `want "Name: value"`, nil},
		{"missing body file", []string{"--url", "http://127.0.0.1/", "--body", "@testdata/none.json"}, "--body: open testdata/none.json", nil},
		{"stray argument", []string{"--url", "http://127.0.0.1/", "extra"}, `unexpected argument "extra"`, nil},
		{"unknown flag", []string{"--urls", "x"}, "flag provided but not defined: -urls", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, io.Discard)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-h"}, io.Discard, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "Only loopback targets") {
		t.Errorf("exit %d, usage:\n%s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"--url", "http://192.0.2.1/"}, io.Discard, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "refusing") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "127.9.9.9:1": true, "[::1]:8080": true,
		"10.0.0.1:80": false, "[2001:db8::1]:443": false, "0.0.0.0:80": false, "example.com:80": false,
	} {
		err := loopbackOnly("tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
		if err != nil && !errors.Is(err, errNotLoopback) {
			t.Errorf("%s: %v is not errNotLoopback", addr, err)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		v := r.Uint64() >> r.IntN(64)
		i := bucketOf(v)
		if i < 0 || i >= histogramBuckets {
			t.Fatalf("%d: bucket %d out of range", v, i)
		}
		mid := bucketMiddle(i)
		if diff := float64(max(mid, v) - min(mid, v)); diff > float64(v)/64 {
			t.Fatalf("%d: bucket %d middle %d is %.3f%% away", v, i, mid, 100*diff/float64(v))
		}
		if i > 0 && bucketOf(bucketMiddle(i-1)) != i-1 {
			t.Fatalf("bucket %d does not hold its middle", i-1)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var a, b histogram
	for i := 1; i <= 100_000; i++ { // 1 µs .. 100 ms, evenly
		d := time.Duration(i) * time.Microsecond
		if i%2 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	a.merge(&b)
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := a.quantile(c.q)
		if rel := float64(got-c.want) / float64(c.want); rel > 0.02 || rel < -0.02 {
			t.Errorf("p%g = %s, want %s within 2%%", 100*c.q, got, c.want)
		}
	}
	if a.total != 100_000 || a.max != 100*time.Millisecond {
		t.Errorf("total %d max %s", a.total, a.max)
	}
	var empty histogram
	if empty.quantile(0.99) != 0 {
		t.Error("quantile of an empty histogram")
	}
	var one histogram
	one.record(3 * time.Millisecond)
	if p50 := one.quantile(0.5); p50 > 3*time.Millisecond || p50 < 3*time.Millisecond*63/64 || one.quantile(0.999) != p50 {
		t.Errorf("one value: p50 %s p99.9 %s", one.quantile(0.5), one.quantile(0.999))
	}
}

// ofrepServer serves the example flags (../../flags) over OFREP on 127.0.0.1.
func ofrepServer(t *testing.T) *httptest.Server {
	t.Helper()
	snaps, err := compiler.Compile(filepath.Join("..", "..", "flags"), compiler.Options{Revision: "load-test"})
	if err != nil {
		t.Fatal(err)
	}
	native := ofrep.NewNative()
	if _, err := native.Load(snapshot.Encode(snaps["production"])); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ofrep.NewHandler(native, ofrep.Options{}))
	t.Cleanup(srv.Close)
	return srv
}

// runJSON runs the command with --json and decodes its report.
func runJSON(t *testing.T, args ...string) (int, report, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append(args, "--json"), &stdout, &stderr)
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("exit %d, output %q: %v\n%s", code, stdout.String(), err, stderr.String())
	}
	return code, r, stderr.String()
}

func TestLoadOFREP(t *testing.T) {
	srv := ofrepServer(t)
	for _, path := range []string{"/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/new-search-algorithm"} {
		code, r, stderr := runJSON(t, "--url", srv.URL+path, "--body", "@testdata/bulk-request.json", "--duration", "400ms", "--concurrency", "4")
		if code != exitOK || r.Errors != 0 || r.Requests == 0 || r.Statuses["200"] != r.Requests || len(r.Statuses) != 1 {
			t.Fatalf("%s: exit %d, report %+v\n%s", path, code, r, stderr)
		}
		l := r.LatencyMs
		if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) || r.Throughput <= 0 || r.Seconds < 0.4 || r.Seconds > 2 {
			t.Errorf("%s: report %+v", path, r)
		}
		if r.Method != "POST" || r.Concurrency != 4 || r.URL != srv.URL+path {
			t.Errorf("%s: report %+v", path, r)
		}
	}
}

func TestLoadCountsErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	code, r, _ := runJSON(t, "--url", srv.URL, "--duration", "300ms", "--concurrency", "2")
	if code != exitErrors || r.Errors == 0 || r.Statuses["503"] != r.Errors || r.Statuses["200"] == 0 ||
		len(r.ErrorSamples) != 1 || r.ErrorSamples[0] != "status 503 Service Unavailable" {
		t.Errorf("exit %d, report %+v", code, r)
	}

	// Nothing listens: every request fails, and says why.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, r, _ = runJSON(t, "--url", "http://"+addr+"/", "--duration", "200ms", "--concurrency", "1")
	if code != exitErrors || r.Errors != r.Requests || r.Errors == 0 || len(r.ErrorSamples) == 0 ||
		!strings.Contains(r.ErrorSamples[0], "connection refused") {
		t.Errorf("exit %d, report %+v", code, r)
	}
}

func TestLoadRate(t *testing.T) {
	srv := ofrepServer(t)
	code, r, _ := runJSON(t, "--url", srv.URL+"/ofrep/v1/evaluate/flags", "--body", `{"context":{"targetingKey":"u"}}`,
		"--rate", "100", "--duration", "1s", "--concurrency", "3")
	if code != exitOK || r.Requests < 80 || r.Requests > 101 || r.Rate != 100 {
		t.Errorf("exit %d, %d requests at --rate 100 for 1 s: %+v", code, r.Requests, r)
	}
}

func TestTextReport(t *testing.T) {
	srv := ofrepServer(t)
	var stdout bytes.Buffer
	code := run([]string{"--url", srv.URL + "/ofrep/v1/evaluate/flags/no-such-flag", "--body", `{"context":{}}`, "--duration", "200ms", "--concurrency", "1"}, &stdout, io.Discard)
	out := stdout.String()
	for _, want := range []string{"target      POST http://127.0.0.1:", "load        1 workers, closed loop", "throughput  ", "latency     p50 ", "statuses    404: ", "error       status 404 Not Found"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if code != exitErrors {
		t.Errorf("exit %d, want %d for 404s", code, exitErrors)
	}
}
