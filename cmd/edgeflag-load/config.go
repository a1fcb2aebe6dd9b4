package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Bounds of the flags.
const (
	defaultDuration    = 10 * time.Second
	maxDuration        = 60 * time.Second
	defaultConcurrency = 8
	maxConcurrency     = 1024
	maxRate            = 1e6
	defaultTimeout     = 5 * time.Second
)

// errHelp is returned for -h: the usage has been printed, nothing else to say.
var errHelp = errors.New("help requested")

// config is what the flags ask for.
type config struct {
	target      *url.URL
	method      string
	body        []byte // nil: no body
	header      http.Header
	duration    time.Duration
	concurrency int
	rate        float64 // requests per second over all workers; 0: as fast as answers come
	timeout     time.Duration
	json        bool
}

// headerList collects repeated --header flags.
type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

// parseConfig reads the command line.
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("edgeflag-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: edgeflag-load --url http://127.0.0.1:PORT/PATH [flags]

Puts a bounded load on a server on this machine and prints requests, errors, throughput
and latency percentiles (p50, p90, p99, max). Only loopback targets are accepted.

`)
		fs.PrintDefaults()
	}
	rawURL := fs.String("url", "", "the `URL` to load: http(s) on 127.0.0.0/8, ::1 or localhost (required)")
	duration := fs.Duration("duration", defaultDuration, "how long to run, at most 1m")
	concurrency := fs.Int("concurrency", defaultConcurrency, "requests in flight (`workers`), 1 to 1024")
	body := fs.String("body", "", "request `body`, or @file to read it from a file; sets the method to POST and Content-Type to application/json unless given")
	method := fs.String("method", "", "HTTP `method` (default GET, or POST with --body)")
	rate := fs.Float64("rate", 0, "start this many `requests per second` in all (0: each worker sends as soon as the last answer came)")
	timeout := fs.Duration("timeout", defaultTimeout, "time limit of one request")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	var headers headerList
	fs.Var(&headers, "header", "a request header `Name: value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}

	cfg := &config{duration: *duration, concurrency: *concurrency, rate: *rate, timeout: *timeout, json: *jsonOut, header: http.Header{}}
	if *rawURL == "" {
		return nil, errors.New("--url is required")
	}
	target, err := checkTarget(*rawURL)
	if err != nil {
		return nil, err
	}
	cfg.target = target
	switch {
	case cfg.duration <= 0:
		return nil, fmt.Errorf("--duration %s: must be positive", cfg.duration)
	case cfg.duration > maxDuration:
		return nil, fmt.Errorf("--duration %s: at most %s", cfg.duration, maxDuration)
	case cfg.concurrency < 1 || cfg.concurrency > maxConcurrency:
		return nil, fmt.Errorf("--concurrency %d: must be between 1 and %d", cfg.concurrency, maxConcurrency)
	case cfg.rate < 0 || cfg.rate > maxRate || cfg.rate != cfg.rate:
		return nil, fmt.Errorf("--rate %g: must be between 0 and %g requests per second", cfg.rate, float64(maxRate))
	case cfg.timeout <= 0:
		return nil, fmt.Errorf("--timeout %s: must be positive", cfg.timeout)
	}
	if strings.HasPrefix(*body, "@") {
		b, err := os.ReadFile(strings.TrimPrefix(*body, "@"))
		if err != nil {
			return nil, fmt.Errorf("--body: %w", err)
		}
		cfg.body = b
	} else if *body != "" {
		cfg.body = []byte(*body)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("--header %q: want \"Name: value\"", h)
		}
		cfg.header.Add(name, strings.TrimSpace(value))
	}
	cfg.method = strings.ToUpper(*method)
	switch {
	case cfg.method == "" && cfg.body != nil:
		cfg.method = http.MethodPost
	case cfg.method == "":
		cfg.method = http.MethodGet
	}
	if cfg.body != nil && cfg.header.Get("Content-Type") == "" {
		cfg.header.Set("Content-Type", "application/json")
	}
	return cfg, nil
}

// checkTarget parses the URL and refuses anything but http(s) to a loopback host.
func checkTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--url %q: the scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("--url %q: no host", raw)
	}
	if !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("--url %q: refusing a target that is not on this machine; use 127.0.0.1, ::1 or localhost", raw)
	}
	return u, nil
}

// loopbackHost reports whether host is a loopback IP address or "localhost".
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
