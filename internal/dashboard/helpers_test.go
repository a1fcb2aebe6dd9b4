package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/internal/dashboard"
	"github.com/edgeflag/edgeflag/internal/promtest"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/prometheus"
	"github.com/edgeflag/edgeflag/store"
)

const (
	fullToken     = "full-access-token-0123456789"
	readOnlyToken = "read-only-token-0123456789ab"
	env           = "production"
)

// The traffic of a steady service behind the test flags, per variant: requests per
// second, the share answered 500, and the p99 latency in ms.
var (
	testRPS       = map[string]float64{"on": 20, "off": 180}
	testErrorRate = map[string]float64{"on": 0.0021, "off": 0.0019}
	testP99       = map[string]float64{"on": 431, "off": 402}
)

// startPrometheus starts a real Prometheus holding the test traffic of the given flags
// over the last three hours: per variant, edgeflag_http_requests_total by code, and a
// counter whose rate is the p99 (app_p99_latency_ms_total, so the expected latency is
// exact). It returns a provider on it.
func startPrometheus(t testing.TB, flags ...string) rollout.Provider {
	t.Helper()
	b := promtest.NewBackfill(time.Now().Add(-2*time.Second), 3*time.Hour, 15*time.Second)
	for _, flag := range flags {
		for v, rps := range testRPS {
			b.Counter("edgeflag_http_requests_total", map[string]string{"flag": flag, "variant": v, "code": "200"}, rps*(1-testErrorRate[v]))
			b.Counter("edgeflag_http_requests_total", map[string]string{"flag": flag, "variant": v, "code": "500"}, rps*testErrorRate[v])
			b.Counter("app_p99_latency_ms_total", map[string]string{"flag": flag, "variant": v}, testP99[v])
		}
	}
	srv := promtest.Start(t, promtest.Options{Backfill: b})
	p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture is a store with production published (flags checkout, search and
// search-ring), the plan of testdata/plan.json and checkout's rollout started and
// checked once, 5 minutes into its first stage.
type fixture struct {
	st   store.Store
	pub  *publish.Publisher
	h    *dashboard.Handler
	now  time.Time
	prov rollout.Provider
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, "checkout", "search", "search-ring")
}

// newFixtureWith is newFixture with other flags (checkout among them).
func newFixtureWith(t testing.TB, flags ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// An hour ago, so that the checks five minutes into the stage read backfilled data.
	f := &fixture{st: st, now: time.Now().UTC().Add(-time.Hour).Truncate(time.Minute), prov: startPrometheus(t, "checkout")}
	clock := func() time.Time { return f.now }
	f.pub = publish.New(st)
	f.pub.Now = clock
	plan, err := os.ReadFile("testdata/plan.json")
	if err != nil {
		t.Fatal(err)
	}
	base := publishtest.Snapshot(env, "abc123", 1, flags...)
	if _, err := f.pub.PublishWithPlan(ctx, base, plan, "ci"); err != nil {
		t.Fatal(err)
	}
	ctl := &rollout.Controller{Publisher: f.pub, Providers: map[string]rollout.Provider{rollout.ProviderPrometheus: f.prov}, Now: clock}
	if _, err := ctl.Tick(ctx, env); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(5 * time.Minute)
	if _, err := ctl.Tick(ctx, env); err != nil {
		t.Fatal(err)
	}
	f.h, err = dashboard.New(dashboard.Config{
		Store: st, Token: fullToken, ReadOnlyToken: readOnlyToken, TokenActor: "test-token",
		Providers: map[string]rollout.Provider{rollout.ProviderPrometheus: f.prov}, Now: clock, SimulatedUsers: 2000,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// request is one request to the handler.
type request struct {
	method, path string
	form         url.Values
	cookie       string
	header       map[string]string
}

func (f *fixture) do(t testing.TB, r request) *http.Response {
	t.Helper()
	var body *strings.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	} else {
		body = strings.NewReader("")
	}
	if r.method == "" {
		r.method = http.MethodGet
	}
	req := httptest.NewRequest(r.method, "http://dash.test"+r.path, body)
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: r.cookie})
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w.Result()
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// login logs in with a token and returns the session cookie's value.
func (f *fixture) login(t testing.TB, token, name string) string {
	t.Helper()
	resp := f.do(t, request{method: "POST", path: "/dashboard/login", form: url.Values{"token": {token}, "name": {name}},
		header: map[string]string{"Origin": "http://dash.test", "Sec-Fetch-Site": "same-origin"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s %s", resp.Status, readBody(t, resp))
	}
	for _, c := range resp.Cookies() {
		if c.Name == dashboard.CookieName {
			return c.Value
		}
	}
	t.Fatal("login set no session cookie")
	return ""
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a flag page.
func (f *fixture) csrf(t testing.TB, cookie string) string {
	t.Helper()
	body := readBody(t, f.do(t, request{path: "/dashboard/flags/checkout?env=production", cookie: cookie}))
	m := csrfPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the flag page:\n%s", body)
	}
	return m[1]
}

// post sends an action form from the dashboard's own origin.
func (f *fixture) post(t testing.TB, cookie, path string, form url.Values) *http.Response {
	t.Helper()
	return f.do(t, request{method: "POST", path: path, form: form, cookie: cookie,
		header: map[string]string{"Origin": "http://dash.test", "Sec-Fetch-Site": "same-origin"}})
}
