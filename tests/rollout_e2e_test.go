package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgeflag/edgeflag/instrument"
	"github.com/edgeflag/edgeflag/internal/promtest"
)

// rolloutE2EProject is the flag directory of the end-to-end rollout test: the example
// metrics on the instrumentation's series, stages of seconds, and a small minimum sample.
var rolloutE2EProject = map[string]string{
	"project.yaml": `kind: Project
environments: [production]
metrics:
  error_rate:
    provider: prometheus
    kind: ratio
    numerator: sum by (variant) (increase(edgeflag_http_requests_total{flag="{{flag}}", code=~"5.."}[{{window}}]))
    denominator: sum by (variant) (increase(edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}]))
rollouts:
  minSamples: 100
  confidence: 0.95
`,
	"checkout-v2.yaml": rolloutE2EFlag("checkout-v2"),
	"search-v2.yaml":   rolloutE2EFlag("search-v2"),
}

func rolloutE2EFlag(key string) string {
	return `kind: Flag
key: ` + key + `
owner: team@company.com
lifecycle: temporary
created: 2026-11-01
expires: 2027-06-01
type: boolean
offVariant: off
defaultVariant: off
rollout: { variant: on }
stages:
  - percentage: 20
    duration: 6s
    successCriteria: &healthy
      - { metric: error_rate, threshold: "<= baseline * 1.1" }
      - { metric: error_rate, threshold: "< 1%" }
  - { percentage: 60, duration: 6s, successCriteria: *healthy }
  - { percentage: 100, duration: infinity }
`
}

// rolloutOrigin is the application behind the edge: it fails every 33rd request (3%) that
// got search-v2's new variant, and nothing else; the instrumentation middleware records
// every request per flag and variant for Prometheus to scrape.
func rolloutOrigin(t *testing.T) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := instrument.New(instrument.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Int64
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-flag-search-v2") == "on" && broken.Add(1)%33 == 0 {
			http.Error(w, "search backend failed", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", m.Wrap(app))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// rolloutLoad sends requests as the edge's users would until stop is closed or the limit
// is reached: each user's variants come from the edge (/evaluate answers them as x-flag-*
// headers, the ones the Worker adds when it forwards), then the request goes to the origin
// with them. Bounded: at most limit requests, four workers, 127.0.0.1 only.
func rolloutLoad(edge, origin string, stop <-chan struct{}, limit int64) *sync.WaitGroup {
	var sent atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if sent.Add(1) > limit {
					return
				}
				user := "user-" + string(rune('a'+w)) + "-" + itoa(i%5000)
				req, _ := http.NewRequest("GET", edge+"/evaluate", nil)
				req.Header.Set("x-user-id", user)
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				// One request per feature, each with its own flag's variant, as each page of
				// the application reads only its own flag.
				for name, v := range resp.Header {
					key, ok := strings.CutPrefix(strings.ToLower(name), "x-flag-")
					if !ok {
						continue
					}
					oreq, _ := http.NewRequest("GET", origin+"/"+key, nil)
					oreq.Header[name] = v
					if oresp, err := client.Do(oreq); err == nil {
						io.Copy(io.Discard, oresp.Body)
						oresp.Body.Close()
					}
				}
			}
		}()
	}
	return &wg
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

// TestRolloutEndToEnd runs the whole loop on 127.0.0.1: `edgeflag dev` (store, kill-switch
// API, edge and rollout controller ticking every second), an origin instrumented with the
// instrument middleware, a real Prometheus scraping it every second, a bounded load
// through the edge, and a webhook. The healthy flag walks every stage to 100%; the flag
// whose new variant fails 3% of requests is rolled back, the webhook is told, and the
// edge serves its offVariant within one poll interval and a second.
func TestRolloutEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs edgeflag dev, Prometheus and a load")
	}
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "flags"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range rolloutE2EProject {
		cliWriteFile(t, filepath.Join(work, "flags"), name, content)
	}
	origin := rolloutOrigin(t)
	prom := promtest.Start(t, promtest.Options{Scrape: []string{origin.URL + "/metrics"}, ScrapeInterval: time.Second})

	var hookMu sync.Mutex
	var hooks []map[string]any
	hookAt := make(chan time.Time, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		hookMu.Lock()
		hooks = append(hooks, body)
		hookMu.Unlock()
		hookAt <- time.Now()
	}))
	defer hook.Close()

	bin := cliBuild(t)
	p := cliStartIn(t, bin, work, []string{"EDGEFLAG_PROMETHEUS_URL=" + prom.URL, "EDGEFLAG_WEBHOOK_URL=" + hook.URL}, true,
		"dev", "--addr", "127.0.0.1:0", "--dir", "flags", "--store", "store", "--rollout-interval", "1s",
		"--wasm", edgeWasm(t), "--cache-dir", filepath.Join(edgeRoot(t), ".cache", "wazero"))
	m, next := p.waitLine(t, regexp.MustCompile(`^edgeflag dev: (http://127\.0\.0\.1:\d+) `), 0, time.Minute)
	base := m[1]
	p.waitLine(t, regexp.MustCompile(`rollout    production checkout-v2: start, stage 1 \(20%\)`), next, 10*time.Second)

	stop := make(chan struct{})
	load := rolloutLoad(base, origin.URL, stop, 200_000)
	defer func() {
		close(stop)
		load.Wait()
	}()

	// The broken variant is rolled back, the webhook is told, and the edge follows.
	var decidedAt time.Time
	select {
	case decidedAt = <-hookAt:
	case <-time.After(90 * time.Second):
		t.Fatalf("no rollback within 90 s; dev printed:\n%s", strings.Join(p.output(), "\n"))
	}
	hookMu.Lock()
	text, _ := hooks[0]["text"].(string)
	hookMu.Unlock()
	if !strings.Contains(text, "search-v2 ROLLED BACK in production") || !strings.Contains(text, "error_rate") {
		t.Fatalf("webhook text %q, want search-v2 rolled back on error_rate", text)
	}
	// Every user gets the offVariant now: one who was in the new variant included.
	visible := time.Duration(0)
	for {
		on := 0
		for i := range 50 {
			if devEvaluate(t, base, "user-a-"+itoa(i))["search-v2"] == "on" {
				on++
			}
		}
		if on == 0 {
			visible = time.Since(decidedAt)
			break
		}
		if time.Since(decidedAt) > 2*time.Second {
			t.Fatalf("%d of 50 users still get search-v2 on %v after the rollback (the edge polls every second)", on, time.Since(decidedAt))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("rollback decision → edge serving the offVariant: %v", visible)

	// The healthy flag walks to 100%.
	_, next = p.waitLine(t, regexp.MustCompile(`rollout    production checkout-v2: proceed, stage 2 \(60%\)`), 0, 90*time.Second)
	p.waitLine(t, regexp.MustCompile(`rollout    production checkout-v2: proceed, stage 3 \(100%\), completed`), next, 90*time.Second)
	for i := range 20 {
		if v := devEvaluate(t, base, "user-b-"+itoa(i))["checkout-v2"]; v != "on" {
			// The edge may need one poll to serve the last stage.
			time.Sleep(1500 * time.Millisecond)
			if v = devEvaluate(t, base, "user-b-"+itoa(i))["checkout-v2"]; v != "on" {
				t.Fatalf("user-b-%d gets checkout-v2 %q at 100%%", i, v)
			}
		}
	}
	if strings.Contains(strings.Join(p.output(), "\n"), "checkout-v2: rollback") {
		t.Error("the healthy flag was rolled back")
	}
}

// devEvaluate asks the edge's /evaluate for every flag's variant for one user.
func devEvaluate(t *testing.T, base, user string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/evaluate", nil)
	req.Header.Set("x-user-id", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	out := map[string]string{}
	for name, v := range resp.Header {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-flag-"); ok && len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}
