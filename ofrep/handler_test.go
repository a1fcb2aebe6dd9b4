package ofrep

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

type response struct {
	status int
	header http.Header
	body   string
}

func do(h http.Handler, method, path, body string, header ...string) response {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestEvaluateFlag(t *testing.T) {
	n, hash := loadedNative(t)
	before := switchAt.Add(-time.Hour)
	bucket := strconv.Itoa(int(snapshot.Bucket(snapshot.SeedFor("experiment"), "user-1")))
	variant, upper := "control", strconv.Itoa(int(snapshot.ThresholdFor(50)))
	if b, _ := strconv.Atoi(bucket); b >= int(snapshot.ThresholdFor(50)) {
		variant, upper = "treatment", strconv.Itoa(snapshot.BucketCount)
	}
	newSearchBucket := strconv.Itoa(int(snapshot.Bucket(snapshot.SeedFor("new-search"), "user-1")))
	tests := []struct {
		name   string
		style  ReasonStyle
		path   string
		body   string
		status int
		want   string // HASH stands for the snapshot hash
	}{
		{"static string", SpecReasons, "/ofrep/v1/evaluate/flags/banner", `{"context":{"targetingKey":"user-1"}}`, 200,
			`{"key":"banner","reason":"STATIC","variant":"blue","value":"blue","metadata":{"decision":"default","snapshot":"HASH"}}`},
		{"nested context matches a dotted attribute", SpecReasons, "/ofrep/v1/evaluate/flags/checkout",
			`{"context":{"targetingKey":"user-1","account":{"plan":"pro"}}}`, 200,
			`{"key":"checkout","reason":"TARGETING_MATCH","variant":"on","value":true,"metadata":{"decision":"rule","rule":"pro-accounts","snapshot":"HASH"}}`},
		{"dotted attribute", SpecReasons, "/ofrep/v1/evaluate/flags/checkout", `{"context":{"account.plan":"pro"}}`, 200,
			`{"key":"checkout","reason":"TARGETING_MATCH","variant":"on","value":true,"metadata":{"decision":"rule","rule":"pro-accounts","snapshot":"HASH"}}`},
		{"DEFAULT is UNKNOWN in the spec's reasons", SpecReasons, "/ofrep/v1/evaluate/flags/checkout", `{"context":{"targetingKey":"user-1"}}`, 200,
			`{"key":"checkout","reason":"UNKNOWN","variant":"off","value":false,"metadata":{"decision":"default","snapshot":"HASH","reason":"DEFAULT"}}`},
		{"DEFAULT as is with OpenFeature reasons", OpenFeatureReasons, "/ofrep/v1/evaluate/flags/checkout", `{"context":{"targetingKey":"user-1"}}`, 200,
			`{"key":"checkout","reason":"DEFAULT","variant":"off","value":false,"metadata":{"decision":"default","snapshot":"HASH"}}`},
		{"targetingKey buckets as userId", SpecReasons, "/ofrep/v1/evaluate/flags/experiment", `{"context":{"targetingKey":"user-1"}}`, 200,
			`{"key":"experiment","reason":"SPLIT","variant":"` + variant + `","value":"` + variant + `","metadata":{"decision":"rollout","bucket":` + bucket + `,"threshold":` + upper + `,"snapshot":"HASH"}}`},
		{"killed", SpecReasons, "/ofrep/v1/evaluate/flags/killed", `{"context":{}}`, 200,
			`{"key":"killed","reason":"DISABLED","variant":"off","value":false,"metadata":{"decision":"kill","snapshot":"HASH"}}`},
		{"object value", SpecReasons, "/ofrep/v1/evaluate/flags/limits", `{"context":{}}`, 200,
			`{"key":"limits","reason":"STATIC","variant":"standard","value":{"max":10,"tiers":["a","b"]},"metadata":{"decision":"default","snapshot":"HASH"}}`},
		{"float value", SpecReasons, "/ofrep/v1/evaluate/flags/page-size", `{}`, 200,
			`{"key":"page-size","reason":"STATIC","variant":"default","value":2.5,"metadata":{"decision":"default","snapshot":"HASH"}}`},
		{"schedule before its step", SpecReasons, "/ofrep/v1/evaluate/flags/new-search", `{"context":{"targetingKey":"user-1"}}`, 200,
			`{"key":"new-search","reason":"UNKNOWN","variant":"off","value":false,"metadata":{"decision":"default","bucket":` + newSearchBucket + `,"threshold":0,"snapshot":"HASH","reason":"DEFAULT"}}`},
		{"unknown flag", SpecReasons, "/ofrep/v1/evaluate/flags/nope", `{"context":{}}`, 404,
			`{"key":"nope","errorCode":"FLAG_NOT_FOUND","errorDetails":"flag \"nope\" not found in snapshot HASH12 of environment production","metadata":{"snapshot":"HASH"}}`},
		{"missing bucketing attribute", SpecReasons, "/ofrep/v1/evaluate/flags/experiment", `{"context":{"plan":"pro"}}`, 400,
			`{"key":"experiment","errorCode":"TARGETING_KEY_MISSING","errorDetails":"split needs attribute userId (send a targetingKey, or the attribute itself)","metadata":{"snapshot":"HASH"}}`},
		{"malformed JSON", SpecReasons, "/ofrep/v1/evaluate/flags/banner", `{"context":`, 400,
			`{"key":"banner","errorCode":"PARSE_ERROR","errorDetails":"invalid JSON: unexpected end of JSON input (at byte 11)"}`},
		{"body not an object", SpecReasons, "/ofrep/v1/evaluate/flags/banner", `[1]`, 400,
			`{"key":"banner","errorCode":"PARSE_ERROR","errorDetails":"request body must be a JSON object: {\"context\":{...}}"}`},
		{"empty body", SpecReasons, "/ofrep/v1/evaluate/flags/banner", ``, 400,
			`{"key":"banner","errorCode":"PARSE_ERROR","errorDetails":"empty request body: send {\"context\":{...}}"}`},
		{"context not an object", SpecReasons, "/ofrep/v1/evaluate/flags/banner", `{"context":"user-1"}`, 400,
			`{"key":"banner","errorCode":"INVALID_CONTEXT","errorDetails":"\"context\" must be a JSON object of attributes"}`},
		{"targetingKey not a string", SpecReasons, "/ofrep/v1/evaluate/flags/banner", `{"context":{"targetingKey":7}}`, 400,
			`{"key":"banner","errorCode":"INVALID_CONTEXT","errorDetails":"context attribute \"targetingKey\": must be a string"}`},
		{"object in a list", SpecReasons, "/ofrep/v1/evaluate/flags/banner", `{"context":{"groups":[{"a":1}]}}`, 400,
			`{"key":"banner","errorCode":"INVALID_CONTEXT","errorDetails":"context attribute \"groups\": lists may hold only strings, numbers and bools, not objects"}`},
		{"invalid UTF-8 key is escaped", SpecReasons, "/ofrep/v1/evaluate/flags/%ff", `{}`, 404,
			`{"key":"\ufffd","errorCode":"FLAG_NOT_FOUND","errorDetails":"flag \"\\ufffd\" not found in snapshot HASH12 of environment production","metadata":{"snapshot":"HASH"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(n, Options{Reasons: tt.style, Now: fixedNow(before)})
			got := do(h, "POST", tt.path, tt.body)
			want := strings.ReplaceAll(strings.ReplaceAll(tt.want, "HASH12", hash[:12]), "HASH", hash)
			if got.status != tt.status || got.body != want {
				t.Errorf("got %d %s\nwant %d %s", got.status, got.body, tt.status, want)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestScheduleFollowsTheClock(t *testing.T) {
	n, _ := loadedNative(t)
	for _, tt := range []struct {
		at      time.Time
		variant string
	}{{switchAt.Add(-time.Millisecond), "off"}, {switchAt, "on"}} {
		h := NewHandler(n, Options{Now: fixedNow(tt.at)})
		got := do(h, "POST", "/ofrep/v1/evaluate/flags/new-search", `{"context":{"targetingKey":"u"}}`)
		if !strings.Contains(got.body, `"variant":"`+tt.variant+`"`) {
			t.Errorf("at %s: %s, want variant %s", tt.at, got.body, tt.variant)
		}
	}
}

func TestNoSnapshot(t *testing.T) {
	h := NewHandler(NewNative(), Options{})
	got := do(h, "POST", "/ofrep/v1/evaluate/flags/banner", `{"context":{}}`)
	if got.status != 500 || got.body != `{"errorDetails":"flag \"banner\": GENERAL: no snapshot loaded"}` {
		t.Errorf("single: %d %s", got.status, got.body)
	}
	got = do(h, "POST", "/ofrep/v1/evaluate/flags", `{"context":{}}`)
	if got.status != 500 || got.body != `{"errorDetails":"cannot evaluate: no snapshot loaded yet"}` {
		t.Errorf("bulk: %d %s", got.status, got.body)
	}
}

func TestRouting(t *testing.T) {
	n, _ := loadedNative(t)
	h := NewHandler(n, Options{})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/ofrep/v1/evaluate/flags/banner", 405},
		{"GET", "/ofrep/v1/evaluate/flags", 405},
		{"POST", "/ofrep/v1/evaluate", 404},
		{"POST", "/ofrep/v1/evaluate/flags/a/b", 404},
		{"OPTIONS", "/ofrep/v1/evaluate/flags", 405},
	} {
		if got := do(h, tt.method, tt.path, `{}`); got.status != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, got.status, tt.status)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	n, _ := loadedNative(t)
	h := NewHandler(n, Options{MaxBodyBytes: 32})
	got := do(h, "POST", "/ofrep/v1/evaluate/flags/banner", `{"context":{"targetingKey":"a-rather-long-key"}}`)
	want := `{"key":"banner","errorCode":"INVALID_CONTEXT","errorDetails":"request body larger than the limit of 32 bytes"}`
	if got.status != 400 || got.body != want {
		t.Errorf("got %d %s", got.status, got.body)
	}
}

func TestBulk(t *testing.T) {
	n, hash := loadedNative(t)
	h := NewHandler(n, Options{Now: fixedNow(switchAt)})
	got := do(h, "POST", "/ofrep/v1/evaluate/flags", `{"context":{"account":{"plan":"pro"}}}`)
	want := `{"flags":[` +
		`{"key":"banner","reason":"STATIC","variant":"blue","value":"blue","metadata":{"decision":"default","snapshot":"HASH"}},` +
		`{"key":"checkout","reason":"TARGETING_MATCH","variant":"on","value":true,"metadata":{"decision":"rule","rule":"pro-accounts","snapshot":"HASH"}},` +
		`{"key":"experiment","errorCode":"TARGETING_KEY_MISSING","errorDetails":"split needs attribute userId (send a targetingKey, or the attribute itself)","metadata":{"snapshot":"HASH"}},` +
		`{"key":"killed","reason":"DISABLED","variant":"off","value":false,"metadata":{"decision":"kill","snapshot":"HASH"}},` +
		`{"key":"limits","reason":"STATIC","variant":"standard","value":{"max":10,"tiers":["a","b"]},"metadata":{"decision":"default","snapshot":"HASH"}},` +
		`{"key":"new-search","reason":"SPLIT","variant":"on","value":true,"metadata":{"decision":"rollout","scheduleStep":0,"snapshot":"HASH"}},` +
		`{"key":"page-size","reason":"STATIC","variant":"default","value":2.5,"metadata":{"decision":"default","snapshot":"HASH"}}` +
		`],"metadata":{"snapshot":"HASH","environment":"production","revision":"rev-1"}}`
	want = strings.ReplaceAll(want, "HASH", hash)
	if got.status != 200 || got.body != want {
		t.Errorf("got %d %s\nwant %s", got.status, got.body, want)
	}
	if etag := got.header.Get("ETag"); len(etag) != 34 || etag[0] != '"' || etag[33] != '"' {
		t.Errorf("ETag %q is not a quoted 32-digit tag", etag)
	}

	bad := do(h, "POST", "/ofrep/v1/evaluate/flags", `{"context":{"targetingKey":true}}`)
	if bad.status != 400 || bad.body != `{"errorCode":"INVALID_CONTEXT","errorDetails":"context attribute \"targetingKey\": must be a string"}` {
		t.Errorf("bad context: %d %s", bad.status, bad.body)
	}
	if bad.header.Get("ETag") != "" {
		t.Error("an error response carries an ETag")
	}
}

func TestBulkETag(t *testing.T) {
	n, _ := loadedNative(t)
	now := switchAt.Add(-time.Hour)
	h := NewHandler(n, Options{Now: func() time.Time { return now }})
	const ctx = `{"context":{"targetingKey":"user-1","account":{"plan":"pro"}}}`
	first := do(h, "POST", "/ofrep/v1/evaluate/flags", ctx)
	etag := first.header.Get("ETag")

	same := do(h, "POST", "/ofrep/v1/evaluate/flags", `{"context":{"account.plan":"pro","targetingKey":"user-1"}}`)
	if same.header.Get("ETag") != etag || same.body != first.body {
		t.Errorf("the same context written another way changed the response: %s vs %s", same.header.Get("ETag"), etag)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*", strings.Trim(etag, `"`)} {
		got := do(h, "POST", "/ofrep/v1/evaluate/flags", ctx, "If-None-Match", inm)
		if got.status != 304 || got.body != "" || got.header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %q ETag %s", inm, got.status, got.body, got.header.Get("ETag"))
		}
	}
	if got := do(h, "POST", "/ofrep/v1/evaluate/flags", ctx, "If-None-Match", `"other"`); got.status != 200 {
		t.Errorf("a different ETag gave %d", got.status)
	}

	changes := []struct {
		name   string
		change func()
		body   string
	}{
		{"context", func() {}, `{"context":{"targetingKey":"user-2","account":{"plan":"pro"}}}`},
		{"schedule step", func() { now = switchAt }, ctx},
		{"snapshot", func() {
			if _, err := n.Load(testSnapshot(t, "rev-2")); err != nil {
				t.Fatal(err)
			}
		}, ctx},
		{"stale", func() { n.SetStale(true) }, ctx},
	}
	seen := map[string]string{etag: "first"}
	for _, c := range changes {
		c.change()
		got := do(h, "POST", "/ofrep/v1/evaluate/flags", c.body, "If-None-Match", etag)
		tag := got.header.Get("ETag")
		if got.status != 200 {
			t.Errorf("after a %s change: %d, want 200", c.name, got.status)
		}
		if prev, dup := seen[tag]; dup {
			t.Errorf("after a %s change the ETag is the same as after %s", c.name, prev)
		}
		seen[tag] = c.name
	}
}

func TestStale(t *testing.T) {
	n, hash := loadedNative(t)
	n.SetStale(true)
	for _, tt := range []struct {
		style ReasonStyle
		want  string
	}{
		{SpecReasons, `{"key":"checkout","reason":"TARGETING_MATCH","variant":"on","value":true,"metadata":{"decision":"rule","rule":"pro-accounts","snapshot":"HASH","stale":true}}`},
		{OpenFeatureReasons, `{"key":"checkout","reason":"STALE","variant":"on","value":true,"metadata":{"decision":"rule","rule":"pro-accounts","snapshot":"HASH","reason":"TARGETING_MATCH","stale":true}}`},
	} {
		h := NewHandler(n, Options{Reasons: tt.style})
		got := do(h, "POST", "/ofrep/v1/evaluate/flags/checkout", `{"context":{"account.plan":"pro"}}`)
		if want := strings.ReplaceAll(tt.want, "HASH", hash); got.body != want {
			t.Errorf("style %d:\n got %s\nwant %s", tt.style, got.body, want)
		}
	}
	bulk := do(NewHandler(n, Options{}), "POST", "/ofrep/v1/evaluate/flags", `{}`)
	if !strings.HasSuffix(bulk.body, `"revision":"rev-1","stale":true}}`) {
		t.Errorf("bulk metadata does not say stale: %s", bulk.body)
	}
}

// staleReasonSource reports STALE as the reason, as the WASM module does in its stale
// mode, losing the real reason.
func TestAuthentication(t *testing.T) {
	n, _ := loadedNative(t)
	forbidden := func(r *http.Request) error {
		if r.Header.Get("X-Team") != "checkout" {
			return ErrForbidden
		}
		return nil
	}
	broken := func(*http.Request) error { return errors.New("key store unreachable") }
	tests := []struct {
		name   string
		auth   func(*http.Request) error
		header []string
		status int
	}{
		{"no credentials", APIKeys("k1", "k2"), nil, 401},
		{"wrong key", APIKeys("k1", "k2"), []string{"X-API-Key", "k3"}, 401},
		{"api key", APIKeys("k1", "k2"), []string{"X-API-Key", "k2"}, 200},
		{"bearer", APIKeys("k1", "k2"), []string{"Authorization", "Bearer k1"}, 200},
		{"bearer lower case", APIKeys("k1"), []string{"Authorization", "bearer k1"}, 200},
		{"basic is not bearer", APIKeys("k1"), []string{"Authorization", "Basic k1"}, 401},
		{"empty bearer", APIKeys("k1"), []string{"Authorization", "Bearer "}, 401},
		{"no keys refuse all", APIKeys(), []string{"X-API-Key", ""}, 401},
		{"forbidden", forbidden, []string{"X-Team", "search"}, 403},
		{"allowed", forbidden, []string{"X-Team", "checkout"}, 200},
		{"authenticator fails", broken, nil, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(n, Options{Authenticate: tt.auth})
			for _, path := range []string{"/ofrep/v1/evaluate/flags/banner", "/ofrep/v1/evaluate/flags"} {
				got := do(h, "POST", path, `{}`, tt.header...)
				if got.status != tt.status {
					t.Errorf("%s: %d, want %d (%s)", path, got.status, tt.status, got.body)
				}
				if tt.status == 401 && got.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", path)
				}
			}
		})
	}
}

func TestCORS(t *testing.T) {
	n, _ := loadedNative(t)
	h := NewHandler(n, Options{AllowOrigin: "*"})
	pre := do(h, "OPTIONS", "/ofrep/v1/evaluate/flags", "")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	got := do(h, "POST", "/ofrep/v1/evaluate/flags", `{}`)
	if got.header.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("the ETag is not exposed to browsers: %v", got.header)
	}
}
