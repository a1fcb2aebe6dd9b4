package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// maxErrorSamples bounds the distinct error messages a report keeps.
const maxErrorSamples = 5

// tally is what one worker saw.
type tally struct {
	latency  histogram
	requests uint64
	errors   uint64
	statuses map[int]uint64
	samples  []string
}

func (t *tally) fail(msg string) {
	t.errors++
	t.sample(msg)
}

// sample keeps msg among the error samples unless it is there or they are full.
func (t *tally) sample(msg string) {
	for _, s := range t.samples {
		if s == msg {
			return
		}
	}
	if len(t.samples) < maxErrorSamples {
		t.samples = append(t.samples, msg)
	}
}

// load runs cfg's workers until the duration is over (or ctx is cancelled) and reports.
func load(ctx context.Context, cfg *config) (*report, error) {
	client := newClient(cfg)
	defer client.CloseIdleConnections()

	// The run's clock starts before its deadline is set, so that a run is never reported
	// shorter than its duration.
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	tallies := make([]tally, cfg.concurrency)
	var wg sync.WaitGroup
	for i := range tallies {
		tallies[i].statuses = map[int]uint64{}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			worker(ctx, cfg, client, w, start, &tallies[w])
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)

	total := tally{statuses: map[int]uint64{}}
	for i := range tallies {
		t := &tallies[i]
		total.latency.merge(&t.latency)
		total.requests += t.requests
		total.errors += t.errors
		for code, n := range t.statuses {
			total.statuses[code] += n
		}
		for _, s := range t.samples {
			total.sample(s)
		}
	}
	if total.requests == 0 && total.errors == 0 {
		return nil, fmt.Errorf("no request completed in %s", cfg.duration)
	}
	return newReport(cfg, elapsed, &total), nil
}

// worker sends requests one at a time: back to back, or on its share of the --rate
// schedule (request k of worker w starts at start + (k*concurrency+w)/rate).
func worker(ctx context.Context, cfg *config, client *http.Client, w int, start time.Time, t *tally) {
	var interval time.Duration
	if cfg.rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(cfg.concurrency) / cfg.rate)
	}
	next := start
	if cfg.rate > 0 {
		next = start.Add(time.Duration(float64(time.Second) * float64(w) / cfg.rate))
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		began := time.Now()
		if interval > 0 {
			if wait := next.Sub(began); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
			}
			began = next // latency counts from the scheduled start
			next = next.Add(interval)
		}
		if ctx.Err() != nil {
			return
		}
		status, err := send(ctx, cfg, client)
		if ctx.Err() != nil && err != nil {
			return // cut short by the end of the run: neither a success nor an error
		}
		t.latency.record(time.Since(began))
		t.requests++
		switch {
		case err != nil:
			t.fail(err.Error())
		case status >= 400:
			t.statuses[status]++
			t.fail("status " + strconv.Itoa(status) + " " + http.StatusText(status))
		default:
			t.statuses[status]++
		}
	}
}

// send makes one request and reads the whole answer.
func send(ctx context.Context, cfg *config, client *http.Client) (int, error) {
	rctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	var body io.Reader
	if cfg.body != nil {
		body = bytes.NewReader(cfg.body)
	}
	req, err := http.NewRequestWithContext(rctx, cfg.method, cfg.target.String(), body)
	if err != nil {
		return 0, err
	}
	for name, values := range cfg.header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("reading the response: %w", err)
	}
	return resp.StatusCode, nil
}

// errNotLoopback is returned when a connection would leave the machine.
var errNotLoopback = errors.New("refusing to connect to an address that is not loopback")

// newClient returns a client that keeps a connection per worker alive, never follows
// redirects, and dials loopback addresses only (whatever "localhost" resolves to).
func newClient(cfg *config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.timeout, Control: loopbackOnly}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConns:        cfg.concurrency,
			MaxIdleConnsPerHost: cfg.concurrency,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// loopbackOnly is a net.Dialer Control function refusing addresses that are not loopback.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %s", errNotLoopback, address)
	}
	return nil
}
