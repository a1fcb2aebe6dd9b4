package tests

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/s3test"
)

// publishEdgePollInterval is how often the edge in these tests polls the store: the
// interval the kill latency target (5 s) is stated for.
const publishEdgePollInterval = time.Second

// publishEdge is an edge host: a native evaluator kept current by the poller, reading
// the store over HTTP as edges read CloudFront.
type publishEdge struct {
	ev     *evaluator.Evaluator
	poller *poller.Poller
}

func publishStartEdge(t testing.TB, srv *s3test.Server) *publishEdge {
	t.Helper()
	return publishStartEdgeAt(t, srv.URL+"/"+srv.Bucket)
}

// publishStartEdgeAt starts an edge polling the store served at baseURL.
func publishStartEdgeAt(t testing.TB, baseURL string) *publishEdge {
	t.Helper()
	e := &publishEdge{ev: evaluator.New(nil)}
	p, err := poller.New(poller.Config{
		BaseURL:     baseURL,
		Environment: "production",
		Interval:    publishEdgePollInterval,
		Apply: func(data []byte, _ poller.Pointer) error {
			s, err := snapshot.Decode(data)
			if err == nil {
				e.ev.Swap(s)
			}
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.poller = p
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Poll(ctx); err != nil {
		cancel()
		t.Fatalf("first poll: %v", err)
	}
	go func() { _ = p.Run(ctx) }()
	t.Cleanup(cancel)
	return e
}

// killed reports whether the edge answers flag with the kill switch's decision.
func (e *publishEdge) killed(flag string) bool {
	r := e.ev.Evaluate(flag, evaluator.NewContext().SetString("targetingKey", "user-42"), time.Now())
	return r.Reason == evaluator.ReasonDisabled && r.Decision.Kind == evaluator.DecidedByKill
}

// waitFor polls cond every 5 ms until it holds or limit passes, and returns how long it
// took from start.
func publishWaitFor(t testing.TB, start time.Time, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("not visible after %v", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestKillReachesTheEdge is the whole path: a kill over HTTP to the real bootstrap under
// the Lambda emulator, which republishes to the S3-protocol server; an edge polling the
// store every second swaps in the new snapshot and answers the flag with the kill
// switch's decision. Then the same for unkill. The latencies are logged;
// TestKillReachesTheEdgeLocally is the same path without AWS, as `edgeflag dev` runs it:
// a directory store served over HTTP by store.Handler, the kill-switch API as a plain
// http.Handler with a bearer token, and an edge polling every second.
func TestKillReachesTheEdgeLocally(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.New(st).Publish(ctx, publishtest.Snapshot("production", "abc123", 1000, "new-checkout"), "dev"); err != nil {
		t.Fatal(err)
	}
	files := httptest.NewServer(store.Handler(st))
	defer files.Close()
	h, err := lambda.New(lambda.Config{Store: st, Token: lambdaTestToken})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(h)
	defer api.Close()
	edge := publishStartEdgeAt(t, files.URL)

	start := time.Now()
	req, _ := http.NewRequest("POST", api.URL+"/flags/new-checkout/kill", strings.NewReader(`{"environment":"production","reason":"local test"}`))
	req.Header.Set("Authorization", "Bearer "+lambdaTestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("kill: %d", resp.StatusCode)
	}
	visible := publishWaitFor(t, start, 30*time.Second, func() bool { return edge.killed("new-checkout") })
	t.Logf("kill: the edge serves it after %v", visible.Round(time.Millisecond))
}

// BenchmarkKillToVisible measures them (target: 5 s with a 1 s poll).
func TestKillReachesTheEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Lambda bootstrap under the emulator")
	}
	srv, _, rie := lambdaSetup(t)
	edge := publishStartEdge(t, srv)
	if edge.killed("new-checkout-flow") {
		t.Fatal("new-checkout-flow is killed before the kill")
	}

	start := time.Now()
	resp := rie.invokeHTTP(t, lambdaEvent(t, "flag-kill.json", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("kill: %d %s", resp.StatusCode, resp.Body)
	}
	api := time.Since(start)
	visible := publishWaitFor(t, start, 30*time.Second, func() bool { return edge.killed("new-checkout-flow") })
	t.Logf("kill: API answered in %v, the edge serves it after %v", api.Round(time.Millisecond), visible.Round(time.Millisecond))

	start = time.Now()
	resp = rie.invokeHTTP(t, lambdaEvent(t, "flag-unkill.json", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("unkill: %d %s", resp.StatusCode, resp.Body)
	}
	visible = publishWaitFor(t, start, 30*time.Second, func() bool { return !edge.killed("new-checkout-flow") })
	t.Logf("unkill: the edge serves it after %v", visible.Round(time.Millisecond))

	if st := edge.poller.Status(); st.Swaps < 3 || st.Failures != 0 {
		t.Errorf("poller status %+v: want 3 swaps (publish, kill, unkill) and no failure", st)
	}
}

// BenchmarkKillToVisible measures, per kill (alternating with unkills), the time from
// sending the request to the real bootstrap under the emulator to an edge polling every
// second serving the change. Each request waits a random part of the poll interval
// first, so the samples cover every phase of the edge's polling. It reports the median
// and the maximum (ns/op includes the random wait).
//
//	go test ./tests -run '^$' -bench KillToVisible -benchtime 10x
func BenchmarkKillToVisible(b *testing.B) {
	srv, _, rie := lambdaSetup(b)
	edge := publishStartEdge(b, srv)
	kill := lambdaEvent(b, "flag-kill.json", nil)
	unkill := lambdaEvent(b, "flag-unkill.json", nil)
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		event, want := kill, true
		if i%2 == 1 {
			event, want = unkill, false
		}
		time.Sleep(rand.N(publishEdgePollInterval))
		start := time.Now()
		if resp := rie.invokeHTTP(b, event); resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		samples = append(samples, publishWaitFor(b, start, 30*time.Second, func() bool { return edge.killed("new-checkout-flow") == want }))
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Milliseconds()), "ms-median")
	b.ReportMetric(float64(samples[len(samples)-1].Milliseconds()), "ms-max")
}
