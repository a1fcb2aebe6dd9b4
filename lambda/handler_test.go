package lambda_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/store/s3test"
)

const token = "local-token-0123456789"

var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// fixture is a store with production published (flags new-checkout and search-ring) and
// staging listed but never published, and the API on it.
type fixture struct {
	store   store.Store
	handler *lambda.Handler
	base    []byte
}

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	base := publishtest.Snapshot("production", "abc123", 1000, "new-checkout", "search-ring")
	if _, err := publish.New(st).Publish(context.Background(), base, "ci"); err != nil {
		t.Fatal(err)
	}
	h, err := lambda.New(lambda.Config{
		Store:        st,
		Environments: []string{"production", "staging"},
		Token:        token,
		Now:          func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: st, handler: h, base: base}
}

func fixtures(t *testing.T) map[string]*fixture {
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := s3test.New(t, "edgeflag-lambda")
	return map[string]*fixture{
		"dir": newFixture(t, dir),
		"s3":  newFixture(t, srv.Store(t, "")),
	}
}

// do sends a request through the handler with the bearer token (unless auth is "-").
func (f *fixture) do(t *testing.T, method, target, body, auth string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	switch auth {
	case "":
		r.Header.Set("Authorization", "Bearer "+token)
	case "-":
	default:
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	return w
}

// snapshotOfStore lists every key with its ETag, to check that nothing was written.
func snapshotOfStore(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		obj, err := st.Get(ctx, k, store.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[k] = obj.ETag
	}
	return out
}

func TestBadRequestsWriteNothing(t *testing.T) {
	big := `{"environment":"production","reason":"` + strings.Repeat("x", lambda.MaxBodyBytes) + `"}`
	tests := []struct {
		name, method, target, body, auth string
		status                           int
		code                             string
	}{
		{"no credentials", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"x"}`, "-", 401, "unauthorized"},
		{"wrong token", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"x"}`, "Bearer wrong-token-0123456789", 401, "unauthorized"},
		{"basic auth", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"x"}`, "Basic " + token, 401, "unauthorized"},
		{"malformed JSON", "POST", "/flags/new-checkout/kill", `{"environment":"production",`, "", 400, "invalid_json"},
		{"not an object", "POST", "/flags/new-checkout/kill", `["production"]`, "", 400, "invalid_json"},
		{"wrong field type", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":42}`, "", 400, "invalid_json"},
		{"unknown field", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"x","force":true}`, "", 400, "invalid_json"},
		{"trailing data", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"x"} {}`, "", 400, "invalid_json"},
		{"empty body", "POST", "/flags/new-checkout/kill", ``, "", 400, "invalid_json"},
		{"missing reason", "POST", "/flags/new-checkout/kill", `{"environment":"production"}`, "", 400, "missing_field"},
		{"blank reason", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"   "}`, "", 400, "missing_field"},
		{"reason too long", "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"` + strings.Repeat("x", lambda.MaxReasonLength+1) + `"}`, "", 400, "invalid_field"},
		{"missing environment", "POST", "/flags/new-checkout/kill", `{"reason":"x"}`, "", 400, "missing_field"},
		{"invalid environment", "POST", "/flags/new-checkout/kill", `{"environment":"Prod!","reason":"x"}`, "", 400, "invalid_field"},
		{"unknown environment", "POST", "/flags/new-checkout/kill", `{"environment":"qa","reason":"x"}`, "", 404, "unknown_environment"},
		{"unpublished environment", "POST", "/flags/new-checkout/kill", `{"environment":"staging","reason":"x"}`, "", 404, "unknown_environment"},
		{"unknown flag", "POST", "/flags/old-checkout/kill", `{"environment":"production","reason":"x"}`, "", 404, "unknown_flag"},
		{"impossible flag key", "POST", "/flags/Bad%20Key/kill", `{"environment":"production","reason":"x"}`, "", 404, "unknown_flag"},
		{"unknown flag unkill", "POST", "/flags/old-checkout/unkill", `{"environment":"production"}`, "", 404, "unknown_flag"},
		{"oversized body", "POST", "/flags/new-checkout/kill", big, "", 413, "body_too_large"},
		{"wrong method kill", "GET", "/flags/new-checkout/kill", ``, "", 405, "method_not_allowed"},
		{"wrong method flags", "DELETE", "/flags", ``, "", 405, "method_not_allowed"},
		{"wrong method publish", "PUT", "/publish", `{"environment":"production"}`, "", 405, "method_not_allowed"},
		{"unknown route", "GET", "/admin", ``, "", 404, "not_found"},
		{"unknown action", "POST", "/flags/new-checkout/delete", `{}`, "", 404, "not_found"},
		{"publish unknown base", "POST", "/publish", `{"environment":"production","base":"` + strings.Repeat("0", 64) + `"}`, "", 404, "unknown_snapshot"},
		{"publish invalid base", "POST", "/publish", `{"environment":"production","base":"HEAD"}`, "", 400, "invalid_field"},
		{"publish unpublished environment", "POST", "/publish", `{"environment":"staging"}`, "", 404, "unknown_environment"},
		{"flags unknown environment", "GET", "/flags?environment=qa", ``, "", 404, "unknown_environment"},
		{"flags unknown parameter", "GET", "/flags?env=production", ``, "", 400, "invalid_query"},
	}
	for name, f := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			before := snapshotOfStore(t, f.store)
			for _, tt := range tests {
				w := f.do(t, tt.method, tt.target, tt.body, tt.auth)
				var e lambda.ErrorResponse
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
					t.Errorf("%s: body is not a JSON error: %q", tt.name, w.Body.String())
					continue
				}
				if w.Code != tt.status || e.Error != tt.code || e.Message == "" {
					t.Errorf("%s: %d %+v, want %d %s with a message", tt.name, w.Code, e, tt.status, tt.code)
				}
				if tt.status == 405 && w.Header().Get("Allow") == "" {
					t.Errorf("%s: 405 without an Allow header", tt.name)
				}
			}
			if after := snapshotOfStore(t, f.store); !mapsEqual(before, after) {
				t.Errorf("refused requests changed the store:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestKillUnkillAndFlags(t *testing.T) {
	for name, f := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			w := f.do(t, "POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"checkout errors at 12%"}`, "")
			if w.Code != 200 {
				t.Fatalf("kill: %d %s", w.Code, w.Body)
			}
			var kr lambda.KillResponse
			if err := json.Unmarshal(w.Body.Bytes(), &kr); err != nil {
				t.Fatal(err)
			}
			if !kr.Killed || kr.Flag != "new-checkout" || kr.KillStateVersion != 1 || !layout.ValidHash(kr.Snapshot) {
				t.Errorf("kill answer = %+v", kr)
			}
			// The store serves the killed snapshot.
			ptr, _, err := publish.ReadPointer(context.Background(), f.store, "production")
			if err != nil {
				t.Fatal(err)
			}
			if ptr.Snapshot != kr.Snapshot || !slices.Equal(ptr.Killed, []string{"new-checkout"}) {
				t.Errorf("pointer after kill: %+v", ptr)
			}

			w = f.do(t, "GET", "/flags", "", "")
			if w.Code != 200 {
				t.Fatalf("GET /flags: %d %s", w.Code, w.Body)
			}
			var fr lambda.FlagsResponse
			if err := json.Unmarshal(w.Body.Bytes(), &fr); err != nil {
				t.Fatal(err)
			}
			if len(fr.Environments) != 2 || fr.Environments[0].Environment != "production" || fr.Environments[1].Environment != "staging" {
				t.Fatalf("GET /flags environments: %+v", fr.Environments)
			}
			prod := fr.Environments[0]
			if prod.Snapshot != kr.Snapshot || len(prod.Flags) != 2 {
				t.Fatalf("production status: %+v", prod)
			}
			nc, sr := prod.Flags[0], prod.Flags[1]
			if !nc.Killed || nc.Kill == nil || nc.Kill.Reason != "checkout errors at 12%" || nc.Kill.By != "bearer-token" || *nc.Percentage != 25 {
				t.Errorf("new-checkout status: %+v", nc)
			}
			if sr.Killed || sr.Ring != "canary" || *sr.RingPercentage != 5 {
				t.Errorf("search-ring status: %+v", sr)
			}
			if len(fr.Environments[1].Flags) != 0 || fr.Environments[1].Snapshot != "" {
				t.Errorf("unpublished staging: %+v", fr.Environments[1])
			}

			w = f.do(t, "POST", "/flags/new-checkout/unkill", `{"environment":"production"}`, "")
			if w.Code != 200 {
				t.Fatalf("unkill: %d %s", w.Code, w.Body)
			}
			w = f.do(t, "GET", "/flags?environment=production", "", "")
			fr = lambda.FlagsResponse{}
			if err := json.Unmarshal(w.Body.Bytes(), &fr); err != nil {
				t.Fatal(err)
			}
			baseHash, _ := snapshot.Hash(f.base)
			if len(fr.Environments) != 1 || fr.Environments[0].Flags[0].Killed || fr.Environments[0].Snapshot != baseHash {
				t.Errorf("after unkill: %+v", fr.Environments)
			}
		})
	}
}

func TestPublishRoute(t *testing.T) {
	ctx := context.Background()
	for name, f := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			// A new base uploaded by CI, not yet served.
			next := publishtest.Snapshot("production", "def456", 2000, "new-checkout", "search-ring")
			nextHash, _ := snapshot.Hash(next)
			if _, err := f.store.Put(ctx, layout.BaseKey("production", nextHash), next, store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			if w := f.do(t, "POST", "/flags/search-ring/kill", `{"environment":"production","reason":"slow"}`, ""); w.Code != 200 {
				t.Fatalf("kill: %d %s", w.Code, w.Body)
			}
			w := f.do(t, "POST", "/publish", `{"environment":"production","base":"`+nextHash+`"}`, "")
			if w.Code != 200 {
				t.Fatalf("publish: %d %s", w.Code, w.Body)
			}
			var pr lambda.PublishResponse
			if err := json.Unmarshal(w.Body.Bytes(), &pr); err != nil {
				t.Fatal(err)
			}
			if !pr.Changed || pr.Base != nextHash || pr.Revision != "def456" || !slices.Equal(pr.Killed, []string{"search-ring"}) {
				t.Errorf("publish answer: %+v", pr)
			}
			// Publishing it again changes nothing.
			w = f.do(t, "POST", "/publish", `{"environment":"production"}`, "")
			pr = lambda.PublishResponse{}
			if err := json.Unmarshal(w.Body.Bytes(), &pr); err != nil {
				t.Fatal(err)
			}
			if w.Code != 200 || pr.Changed || pr.Base != nextHash {
				t.Errorf("republish of the current base: %d %+v", w.Code, pr)
			}
		})
	}
}

func TestUnkillOfSourceKilledFlagConflicts(t *testing.T) {
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := publishtest.Build("production", "r1", 1, "legacy")
	s.Flags[0].Killed = true
	if _, err := publish.New(dir).Publish(context.Background(), snapshot.Encode(s), "ci"); err != nil {
		t.Fatal(err)
	}
	h, err := lambda.New(lambda.Config{Store: dir, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: dir, handler: h}
	w := f.do(t, "POST", "/flags/legacy/unkill", `{"environment":"production"}`, "")
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "killed_in_source") {
		t.Errorf("unkill of a flag killed in its source: %d %s", w.Code, w.Body)
	}
	// Without configured environments GET /flags needs one named.
	if w := f.do(t, "GET", "/flags", "", ""); w.Code != 400 {
		t.Errorf("GET /flags without environments configured: %d %s", w.Code, w.Body)
	}
	if w := f.do(t, "GET", "/flags?environment=production", "", ""); w.Code != 200 {
		t.Errorf("GET /flags?environment=production: %d %s", w.Code, w.Body)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]lambda.Config{
		"no store":            {},
		"invalid environment": {Store: dir, Environments: []string{"Production"}},
		"short token":         {Store: dir, Token: "secret"},
	}
	for name, cfg := range tests {
		if _, err := lambda.New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
