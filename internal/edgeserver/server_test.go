package edgeserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/protocol"
)

// noon is the time every request of these tests is evaluated at.
var noon = times[0]

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, method, url, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "") // not sent unless a test sets one
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// edge is a Server under test, its HTTP address and what its callbacks saw.
type edge struct {
	srv   *Server
	url   string
	store *storetest.Server

	mu     sync.Mutex
	loads  []string
	stales []bool
}

func (e *edge) loaded() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.loads...)
}

func startEdge(t *testing.T, data []byte) (*edge, string) {
	t.Helper()
	store, hash := newStore(t, "production", data)
	e := &edge{store: store}
	srv, err := New(Config{
		Evaluator: newHost(t), StoreURL: store.URL, PollInterval: 20 * time.Millisecond, Grace: 300 * time.Millisecond,
		PollTimeout: time.Second, Now: func() time.Time { return noon },
		OnLoad: func(v ofrep.Version) {
			e.mu.Lock()
			e.loads = append(e.loads, v.Snapshot)
			e.mu.Unlock()
		},
		OnStale: func(stale bool) {
			e.mu.Lock()
			e.stales = append(e.stales, stale)
			e.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e, hash
}

// run polls the store until the test ends.
func (e *edge) run(t *testing.T) { go e.srv.Run(t.Context()) }

func health(t *testing.T, url string) (int, Health) {
	t.Helper()
	r := do(t, "GET", url+"/healthz", "")
	var h Health
	if err := json.Unmarshal(r.body, &h); err != nil {
		t.Fatalf("/healthz: %v: %s", err, r.body)
	}
	return r.status, h
}

// TestServerBeforeFirstSnapshot: until the first snapshot, the edge says it is starting
// and every evaluation fails the way the native OFREP handler fails without one.
func TestServerBeforeFirstSnapshot(t *testing.T) {
	e, _ := startEdge(t, exampleSnapshot(t, "production"))
	if status, h := health(t, e.url); status != 503 || h.Status != "starting" || h.Snapshot != "" {
		t.Errorf("/healthz before the first poll: %d %+v", status, h)
	}
	r := do(t, "GET", e.url+"/evaluate", "")
	if r.status != 503 || !bytes.Contains(r.body, []byte(`"errorCode":"GENERAL"`)) {
		t.Errorf("/evaluate before the first poll: %d %s", r.status, r.body)
	}
	native := httptest.NewServer(ofrep.NewHandler(ofrep.NewNative(), ofrep.Options{}))
	defer native.Close()
	for _, path := range []string{"/ofrep/v1/evaluate/flags/new-search-algorithm", "/ofrep/v1/evaluate/flags"} {
		got, want := do(t, "POST", e.url+path, `{"context":{}}`), do(t, "POST", native.URL+path, `{"context":{}}`)
		if got.status != want.status || !bytes.Equal(got.body, want.body) {
			t.Errorf("%s: %d %s, native %d %s", path, got.status, got.body, want.status, want.body)
		}
	}
}

// TestServerOFREPMatchesNative: the edge's OFREP answers are the native handler's, byte
// for byte, ETags included.
func TestServerOFREPMatchesNative(t *testing.T) {
	data := exampleSnapshot(t, "production")
	e, hash := startEdge(t, data)
	e.run(t)
	waitFor(t, "first snapshot", func() bool { _, h := health(t, e.url); return h.Snapshot == hash })
	native := httptest.NewServer(ofrep.NewHandler(nativeFor(t, data), ofrep.Options{Now: func() time.Time { return noon }}))
	defer native.Close()

	keys := []string{"no-such-flag"}
	var all struct {
		Flags []struct{ Key string } `json:"flags"`
	}
	if err := json.Unmarshal(do(t, "POST", native.URL+ofrep.PathFlags, `{}`).body, &all); err != nil {
		t.Fatal(err)
	}
	for _, f := range all.Flags {
		keys = append(keys, f.Key)
	}
	bodies := []string{`{"context":`, `[]`, `{"context":{"targetingKey":7}}`, `{}`}
	for _, js := range contexts(30) {
		// OFREP contexts are objects; the generated ones are flat, with a targeting key.
		bodies = append(bodies, `{"context":`+strings.Replace(js, `"userId"`, `"targetingKey"`, 1)+`}`)
	}
	statuses := map[int]int{}
	for _, body := range bodies {
		for _, k := range keys {
			path := ofrep.PathFlag + k
			got, want := do(t, "POST", e.url+path, body), do(t, "POST", native.URL+path, body)
			if got.status != want.status || !bytes.Equal(got.body, want.body) {
				t.Fatalf("POST %s %s:\n edge   %d %s\n native %d %s", path, body, got.status, got.body, want.status, want.body)
			}
			statuses[got.status]++
		}
		got, want := do(t, "POST", e.url+ofrep.PathFlags, body), do(t, "POST", native.URL+ofrep.PathFlags, body)
		if got.status != want.status || !bytes.Equal(got.body, want.body) || got.header.Get("ETag") != want.header.Get("ETag") {
			t.Fatalf("POST %s %s:\n edge   %d %s %s\n native %d %s %s", ofrep.PathFlags, body,
				got.status, got.header.Get("ETag"), got.body, want.status, want.header.Get("ETag"), want.body)
		}
		if etag := got.header.Get("ETag"); etag != "" {
			if r := do(t, "POST", e.url+ofrep.PathFlags, body, "If-None-Match", etag); r.status != 304 {
				t.Errorf("If-None-Match %s: %d", etag, r.status)
			}
		}
	}
	for _, status := range []int{200, 400, 404} {
		if statuses[status] == 0 {
			t.Errorf("no single-flag answer with status %d was compared", status)
		}
	}
}

// TestServerEvaluate: GET /evaluate answers the Worker's body — the module's output byte for
// byte — with one x-flag-<key> header per flag evaluated without error.
func TestServerEvaluate(t *testing.T) {
	data := exampleSnapshot(t, "production")
	e, hash := startEdge(t, data)
	e.run(t)
	waitFor(t, "first snapshot", func() bool { _, h := health(t, e.url); return h.Snapshot == hash })
	ev := e.srv.cfg.Evaluator

	r := do(t, "GET", e.url+"/evaluate", "", "X-User-Id", "user-42", "CF-IPCountry", "de", "User-Agent", "curl/8.5",
		"Cookie", "edgeflag_uid=someone-else")
	ctx := evaluator.NewContext().SetString("userId", "user-42").SetString("country", "DE").SetString("userAgent", "curl/8.5")
	results, err := ev.EvaluateAll(nil, ctx, noon)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"snapshot":"` + hash + `","stale":false,"context":{"userId":"user-42","country":"DE","userAgent":"curl/8.5"},"results":` + string(results) + `}`
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("/evaluate: %d\n%s\nwant\n%s", r.status, r.body, want)
	}
	if r.header.Get("X-Edgeflag-Snapshot") != hash || r.header.Get("X-Edgeflag-Stale") != "" ||
		r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("/evaluate headers: %v", r.header)
	}
	var body struct {
		Results struct {
			Flags []struct{ Key, Variant, Reason string } `json:"flags"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	headers := 0
	for _, f := range body.Results.Flags {
		got := r.header.Get("X-Flag-" + f.Key)
		if f.Reason == "ERROR" {
			if got != "" {
				t.Errorf("x-flag-%s: %q for an error result", f.Key, got)
			}
			continue
		}
		headers++
		if got != f.Variant {
			t.Errorf("x-flag-%s: %q, want %q", f.Key, got, f.Variant)
		}
	}
	if headers == 0 {
		t.Error("no x-flag-* header")
	}

	// The Worker's path answers the same; a cookie stands in for the header.
	r = do(t, "GET", e.url+"/.edgeflag/flags", "", "Cookie", "theme=dark; edgeflag_uid=user%2042")
	if !bytes.Contains(r.body, []byte(`"context":{"userId":"user 42"}`)) {
		t.Errorf("/.edgeflag/flags with a cookie: %s", r.body)
	}

	// ?flag= picks flags, in the order asked, unknown ones as errors.
	r = do(t, "GET", e.url+"/evaluate?flag=new-search-algorithm&flag=no-such-flag,weather-widget", "", "X-User-Id", "user-42")
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, f := range body.Results.Flags {
		order = append(order, f.Key+":"+f.Reason)
	}
	if strings.Join(order, " ") != "new-search-algorithm:"+body.Results.Flags[0].Reason+" no-such-flag:ERROR weather-widget:"+body.Results.Flags[2].Reason ||
		body.Results.Flags[0].Reason == "ERROR" || body.Results.Flags[2].Reason == "ERROR" {
		t.Errorf("?flag=: %v", order)
	}
	if r.header.Get("X-Flag-No-Such-Flag") != "" || r.header.Get("X-Flag-New-Search-Algorithm") == "" {
		t.Errorf("?flag= headers: %v", r.header)
	}

	// A context the module refuses (a user agent over its 64 KiB limit): its error object
	// stands for the results, as in the Worker's answer, and no x-flag-* header is set.
	ua := strings.Repeat("u", protocol.MaxContextSize)
	r = do(t, "GET", e.url+"/evaluate", "", "X-User-Id", "u1", "User-Agent", ua)
	wantRefused := `{"snapshot":"` + hash + `","stale":false,"context":{"userId":"u1","userAgent":"` + ua +
		`"},"results":{"errorCode":"INVALID_CONTEXT","errorMessage":"context: context larger than the limit of 65536 bytes at byte 0"}}`
	if r.status != 200 || string(r.body) != wantRefused || r.header.Get("X-Flag-New-Search-Algorithm") != "" {
		t.Errorf("/evaluate with a context over the module's limit: %d %v\n%s", r.status, r.header, r.body[len(r.body)-200:])
	}

	if r := do(t, "POST", e.url+"/evaluate", "{}"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /evaluate: %d", r.status)
	}
	if r := do(t, "HEAD", e.url+"/evaluate", "", "X-User-Id", "u1"); r.status != 200 || len(r.body) != 0 || r.header.Get("X-Edgeflag-Snapshot") != hash {
		t.Errorf("HEAD /evaluate: %d %v %q", r.status, r.header, r.body)
	}
	if r := do(t, "GET", e.url+"/nothing-here", ""); r.status != 404 {
		t.Errorf("GET /nothing-here: %d", r.status)
	}
}

// TestServerStaleAndRecovery: with the store down for longer than the grace period the
// edge keeps serving its snapshot and says it is stale — reason STALE on /evaluate as in
// the Worker, metadata stale on OFREP — then recovers and picks up a new snapshot.
func TestServerStaleAndRecovery(t *testing.T) {
	data := exampleSnapshot(t, "production")
	e, hash := startEdge(t, data)
	e.run(t)
	waitFor(t, "first snapshot", func() bool { _, h := health(t, e.url); return h.Snapshot == hash })

	e.store.SetFault(storetest.Failing)
	waitFor(t, "stale", func() bool { _, h := health(t, e.url); return h.Status == "stale" })
	status, h := health(t, e.url)
	if status != 200 || !h.Stale || h.Snapshot != hash || h.LastError == "" || h.Failures == 0 || h.SecondsSinceSuccess == nil {
		t.Errorf("/healthz while stale: %d %+v", status, h)
	}
	ev := e.srv.cfg.Evaluator
	ctx := evaluator.NewContext().SetString("userId", "user-42")
	ev.SetStale(true) // what the module writes in its stale mode, for comparison
	results, err := ev.EvaluateAll(nil, ctx, noon)
	ev.SetStale(false)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "GET", e.url+"/evaluate", "", "X-User-Id", "user-42")
	want := `{"snapshot":"` + hash + `","stale":true,"context":{"userId":"user-42"},"results":` + string(results) + `}`
	if string(r.body) != want || r.header.Get("X-Edgeflag-Stale") != "1" {
		t.Errorf("/evaluate while stale: %v\n%s\nwant\n%s", r.header, r.body, want)
	}
	r = do(t, "POST", e.url+ofrep.PathFlag+"new-search-algorithm", `{"context":{"targetingKey":"user-42"}}`)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"stale":true`)) {
		t.Errorf("OFREP while stale: %d %s", r.status, r.body)
	}

	e.store.SetFault(storetest.Healthy)
	waitFor(t, "fresh again", func() bool { _, h := health(t, e.url); return h.Status == "ok" })
	next := e.store.Publish("production", killAndBreak(t, data))
	waitFor(t, "new snapshot", func() bool { _, h := health(t, e.url); return h.Snapshot == next })
	r = do(t, "GET", e.url+"/evaluate?flag=weather-widget", "", "X-User-Id", "user-42")
	if !bytes.Contains(r.body, []byte(`"reason":"DISABLED","decision":{"kind":"kill"}`)) || r.header.Get("X-Edgeflag-Snapshot") != next {
		t.Errorf("after a new snapshot with weather-widget killed: %s", r.body)
	}
	if got := e.loaded(); len(got) != 2 || got[0] != hash || got[1] != next {
		t.Errorf("OnLoad saw %v, want [%s %s]", got, hash, next)
	}
	e.mu.Lock()
	stales := append([]bool(nil), e.stales...)
	e.mu.Unlock()
	if len(stales) != 2 || !stales[0] || stales[1] {
		t.Errorf("OnStale saw %v, want [true false]", stales)
	}
}

// TestServerKeepsSnapshotOnCorruptStore: a snapshot that does not verify is not loaded.
func TestServerKeepsSnapshotOnCorruptStore(t *testing.T) {
	data := exampleSnapshot(t, "production")
	e, hash := startEdge(t, data)
	e.run(t)
	waitFor(t, "first snapshot", func() bool { _, h := health(t, e.url); return h.Snapshot == hash })
	e.store.SetFault(storetest.CorruptSnapshots)
	e.store.Publish("production", exampleSnapshot(t, "staging"))
	waitFor(t, "failed polls", func() bool { _, h := health(t, e.url); return h.Failures >= 3 })
	if _, h := health(t, e.url); h.Snapshot != hash || !strings.Contains(h.LastError, "snapshot") {
		t.Errorf("after corrupt snapshots: %+v", h)
	}
}

// TestServerVerifiesOnce: the poller verifies each snapshot it fetches, and the module,
// told so, does not hash it again; a snapshot that does not verify never reaches the module.
func TestServerVerifiesOnce(t *testing.T) {
	data := exampleSnapshot(t, "production")
	e, hash := startEdge(t, data)
	if err := e.srv.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, h := health(t, e.url); h.Snapshot != hash {
		t.Fatalf("serving %s, want %s", h.Snapshot, hash)
	}
	if s := e.srv.cfg.Evaluator.Stats(); s.Verifications != 0 {
		t.Fatalf("the module hashed %d snapshots the poller had verified", s.Verifications)
	}
	e.store.SetFault(storetest.CorruptSnapshots)
	e.store.Publish("production", exampleSnapshot(t, "staging"))
	if err := e.srv.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), "content hash mismatch") {
		t.Fatalf("poll of a corrupt snapshot: %v, want the poller's content hash mismatch", err)
	}
	if got := e.loaded(); len(got) != 1 || got[0] != hash {
		t.Fatalf("loaded %v, want only %s", got, hash)
	}
	if s := e.srv.cfg.Evaluator.Stats(); s.Verifications != 0 {
		t.Fatalf("stats %+v after a corrupt snapshot", s)
	}
}

func TestRequestContext(t *testing.T) {
	custom := RequestConfig{UserHeader: "X-Account", UserCookie: "sid", CountryHeaders: []string{"X-Geo"}}
	tests := []struct {
		name   string
		cfg    RequestConfig
		header []string
		want   RequestContext
	}{
		{"nothing", RequestConfig{}, nil, RequestContext{}},
		{"header", RequestConfig{}, []string{"X-User-Id", "u1"}, RequestContext{UserID: "u1"}},
		{"cookie", RequestConfig{}, []string{"Cookie", "a=1; edgeflag_uid=u2; b=2"}, RequestContext{UserID: "u2"}},
		{"header before cookie", RequestConfig{}, []string{"X-User-Id", "u1", "Cookie", "edgeflag_uid=u2"}, RequestContext{UserID: "u1"}},
		{"encoded cookie", RequestConfig{}, []string{"Cookie", "edgeflag_uid=user%40example.org"}, RequestContext{UserID: "user@example.org"}},
		{"malformed encoding", RequestConfig{}, []string{"Cookie", "edgeflag_uid=100%zz"}, RequestContext{UserID: "100%zz"}},
		{"cookie name is exact", RequestConfig{}, []string{"Cookie", "xedgeflag_uid=u3"}, RequestContext{}},
		{"country upper-cased", RequestConfig{}, []string{"CF-IPCountry", "fr"}, RequestContext{Country: "FR"}},
		{"Cloudflare first", RequestConfig{}, []string{"CloudFront-Viewer-Country", "US", "CF-IPCountry", "DE"}, RequestContext{Country: "DE"}},
		{"CloudFront", RequestConfig{}, []string{"CloudFront-Viewer-Country", "US"}, RequestContext{Country: "US"}},
		{"user agent", RequestConfig{}, []string{"User-Agent", "Mozilla/5.0"}, RequestContext{UserAgent: "Mozilla/5.0"}},
		{"custom names", custom, []string{"X-Account", "acct-1", "X-Geo", "jp", "X-User-Id", "ignored"}, RequestContext{UserID: "acct-1", Country: "JP"}},
		{"custom cookie", custom, []string{"Cookie", "sid=s1; edgeflag_uid=ignored"}, RequestContext{UserID: "s1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/evaluate", nil)
			r.Header.Del("User-Agent")
			for i := 0; i+1 < len(tc.header); i += 2 {
				r.Header.Set(tc.header[i], tc.header[i+1])
			}
			if got := tc.cfg.Context(r); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRequestContextFill(t *testing.T) {
	ctx := evaluator.NewContext().SetString("plan", "pro")
	RequestContext{UserID: "u1", UserAgent: "ua"}.Fill(ctx)
	if ctx.Get("userId").Str() != "u1" || ctx.Get("userAgent").Str() != "ua" ||
		ctx.Get("country").Kind() != evaluator.Null || ctx.Get("plan").Kind() != evaluator.Null {
		t.Errorf("Fill: %v", ctx.Names())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{StoreURL: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "Evaluator") {
		t.Errorf("no evaluator: %v", err)
	}
	ev := newHost(t)
	for name, cfg := range map[string]Config{
		"no store URL":    {Evaluator: ev},
		"bad environment": {Evaluator: ev, StoreURL: "http://127.0.0.1:1", Environment: "a/b"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
