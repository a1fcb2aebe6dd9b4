package tests

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/snapshot"
)

// The edge OFREP tests hold the Cloudflare Worker (in workerd) and the Lambda@Edge function
// (in Node.js) to the Go handler of package ofrep: for the same snapshot, request and time
// they must answer the same status, the same body byte for byte and the same ETag. Every
// edge response to an OFREP operation is also validated against the OFREP OpenAPI document.

// edgeOFREPCase is one request sent to an edge and to the Go handler.
type edgeOFREPCase struct {
	name   string
	method string // POST when empty
	path   string
	body   string
	header []string // name, value, ...
	// conforming: the request follows the specification, so it is validated too.
	conforming bool
	// undocumented: a path or method OFREP does not define; the response is not validated.
	undocumented bool
}

const (
	edgeOFREPBulk = "/ofrep/v1/evaluate/flags"
	edgeOFREPFlag = "/ofrep/v1/evaluate/flags/"
)

// edgeOFREPContexts are request bodies that evaluate: the users of the OFREP conformance
// test, then contexts that exercise the context rules (no targeting key, nested objects,
// empty lists, unusual numbers and strings, invalid UTF-8 that Go's decoder replaces).
var edgeOFREPContexts = []struct {
	body       string
	conforming bool
}{
	{`{"context":{"targetingKey":"user-1001","email":"alice@company.com","groups":["engineering@company.com"]}}`, true},
	{`{"context":{"targetingKey":"user-2001","email":"ben@example.org","betaProgram":true}}`, true},
	{`{"context":{"targetingKey":"user-2002","email":"carol@bigcorp.example","plan":"enterprise","accountId":"acct-bigcorp"}}`, true},
	{`{"context":{"targetingKey":"user-3010","platform":"ios","appVersion":"2.10.0","geo":{"country":"FR"}}}`, true},
	{`{"context":{"targetingKey":"user-3003","userId":"user-9","country":"DE","accountAgeDays":400}}`, true},
	{`{"context":{"sessionId":"s-7f3a9c"}}`, false},
	{`{"context":{"targetingKey":"","plan":"pro"}}`, true},
	{" {\"context\" : {\"targetingKey\":\"üser-ß\",\"tags\":[],\"n\":-0,\"big\":1e300,\"tiny\":1e-400,\"x\":null,\"l\":[1,null,\"a\",true],\"s\":\"é\\ud800x\\u00e9\\ud83d\\ude00\\n\\b\"}}\n", true},
	{"{\"context\":{\"targetingKey\":\"a\xff\xe2\x82b\",\"\xed\xa0\x80k\":\"v\"}}", true},
	{`{"context":{"targetingKey":"user-1001","user":{"plan":"pro","address":{"country":"FR"}},"user.tier":"gold"}}`, true},
	{`{"context":{"targetingKey":"user-2001"},"context":{"targetingKey":"user-2002"},"other":[[[]]]}`, true},
	{`{"context":null}`, false},
	{`{}`, false},
	{`null`, false},
}

// edgeOFREPBadBodies are request bodies the handler refuses with 400.
func edgeOFREPBadBodies() []string {
	deep := strings.Repeat(`{"d":`, 40) + "1" + strings.Repeat("}", 40)
	return append([]string{
		``, " \t\f\n", `{"context":`, `{"context":[1]}`, `{"context":"x"}`, `{"context":{"targetingKey":1}}`,
		`{"context":{"targetingKey":["u"]}}`, `[1]`, `"str"`, `tru`, `nul`, `-`, `1.`, `1e`, `01`, `{"a" 1}`,
		`{"a":1 "b":2}`, `[1 2]`, `{"a":1}x`, `{,}`, `{"a":"\x"}`, `{"a":"\u12g4"}`, "{\"a\":\"\x01\"}", "\xc3\xa9",
		"\xef\xbb\xbf{}", `{'a':1}`, `{"context":{"x":1e999}}`, `{"context":{"x":-1e400}}`,
		`{"context":{"a":{"b":1},"a.b":2}}`, `{"context":{"":1}}`, `{"context":{"u":{"":1}}}`,
		`{"context":{"l":[[1]]}}`, `{"context":{"l":[{}]}}`, `{"context":{"b":[1,{"x":1}],"a":[[2]]}}`,
		`{"context":` + deep + `}`, `{"context":{}}` + strings.Repeat(" ", 10) + `{}`,
		`{"context":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{"context":{"targetingKey":"u","pad":"` + strings.Repeat("x", 64<<10) + `"}}`,
	}, edgeOFREPOverLimits()...)
}

// edgeOFREPOverLimits are contexts over the evaluator's limits (1,024 attributes once
// flattened, userId from targetingKey included; 4,096 list items), which every edge
// refuses with 400 INVALID_CONTEXT before they reach the module. Each is under the 40 KB
// body limit of Lambda@Edge.
func edgeOFREPOverLimits() []string {
	attrs := func(n int, first string) string {
		var b strings.Builder
		b.WriteString(`{"context":{` + first)
		for i := range n {
			if i > 0 || first != "" {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strconv.FormatInt(int64(i), 36) + `":1`)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	return []string{
		attrs(5000, ""),
		attrs(1023, `"targetingKey":"user-1","x":{"y":true}`),
		attrs(1023, `"targetingKey":"user-1"`),
		`{"context":{"targetingKey":"user-1","l":[` + strings.Repeat(`"x",`, 4000) + `"x"],"m":[` + strings.Repeat(`1,`, 95) + `1]}}`,
	}
}

// edgeOFREPCases lists the requests of the comparison: every flag of s for every context,
// bulk evaluations, unknown and unusual flag keys, refused bodies, paths and methods.
func edgeOFREPCases(s *snapshot.Snapshot) []edgeOFREPCase {
	var cases []edgeOFREPCase
	for i, c := range edgeOFREPContexts {
		for _, f := range s.Flags {
			cases = append(cases, edgeOFREPCase{name: fmt.Sprintf("context %d, %s", i, f.Key), path: edgeOFREPFlag + f.Key, body: c.body, conforming: c.conforming})
		}
		cases = append(cases, edgeOFREPCase{name: fmt.Sprintf("context %d, bulk", i), path: edgeOFREPBulk, body: c.body, conforming: c.conforming})
	}
	ctx := edgeOFREPContexts[0].body
	for _, key := range []string{"no-such-flag", "%6Eew-search-algorithm", "a%2Fb", "caf%C3%A9", "bad%FFkey%E2%82", "a%22b%5C", "tab%09key",
		strings.Repeat("k", 300), "%F0%9F%98%80", "new-search-algorithm%00"} {
		cases = append(cases, edgeOFREPCase{name: "key " + key, path: edgeOFREPFlag + key, body: ctx, conforming: true})
	}
	for i, b := range edgeOFREPBadBodies() {
		cases = append(cases,
			edgeOFREPCase{name: fmt.Sprintf("bad body %d, flag", i), path: edgeOFREPFlag + "new-search-algorithm", body: b},
			edgeOFREPCase{name: fmt.Sprintf("bad body %d, bulk", i), path: edgeOFREPBulk, body: b})
	}
	for _, p := range []string{edgeOFREPFlag, edgeOFREPFlag + "a/b", "/ofrep/v1/evaluate/%66lags"} {
		// The validator's router does not unescape paths: none of these is validated.
		cases = append(cases, edgeOFREPCase{name: "path " + p, path: p, body: ctx, undocumented: true})
	}
	for _, m := range []string{"GET", "PUT", "OPTIONS"} {
		cases = append(cases,
			edgeOFREPCase{name: m + " flag", method: m, path: edgeOFREPFlag + "new-search-algorithm", undocumented: true},
			edgeOFREPCase{name: m + " bulk", method: m, path: edgeOFREPBulk, undocumented: true})
	}
	return cases
}

// edgeOFREPDo sends c to base and records the exchange.
func edgeOFREPDo(t *testing.T, base string, c edgeOFREPCase) exchange {
	t.Helper()
	method := c.method
	if method == "" {
		method = "POST"
	}
	var body io.Reader
	if method == "POST" || method == "PUT" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(c.header); i += 2 {
		req.Header.Add(c.header[i], c.header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, base+c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exchange{c.path, c.body, req.Header, resp.StatusCode, resp.Header, b}
}

// edgeOFREPHeaders are the response headers that must match the Go handler's.
var edgeOFREPHeaders = []string{"Content-Type", "Etag", "Allow", "Www-Authenticate", "X-Content-Type-Options",
	"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers", "Access-Control-Max-Age"}

// edgeOFREPSame reports how got differs from want: status, headers, body (field by field
// when both are JSON). "" when they are the same.
func edgeOFREPSame(got, want exchange) string {
	var diffs []string
	if got.status != want.status {
		diffs = append(diffs, fmt.Sprintf("status %d, want %d", got.status, want.status))
	}
	for _, h := range edgeOFREPHeaders {
		if g, w := got.respHeader.Get(h), want.respHeader.Get(h); g != w {
			diffs = append(diffs, fmt.Sprintf("header %s %q, want %q", h, g, w))
		}
	}
	if !bytes.Equal(got.respBody, want.respBody) {
		var g, w any
		if json.Unmarshal(got.respBody, &g) == nil && json.Unmarshal(want.respBody, &w) == nil {
			fields := edgeJSONDiff("body", g, w, nil)
			if len(fields) == 0 {
				fields = []string{"same JSON, different bytes"}
			}
			if len(fields) > 8 {
				fields = append(fields[:8], fmt.Sprintf("... %d more", len(fields)-8))
			}
			diffs = append(diffs, fields...)
		}
		diffs = append(diffs, fmt.Sprintf("body\n  got  %.600s\n  want %.600s", got.respBody, want.respBody))
	}
	return strings.Join(diffs, "\n")
}

// edgeJSONDiff lists the paths where two decoded JSON values differ.
func edgeJSONDiff(path string, a, b any, out []string) []string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return append(out, fmt.Sprintf("%s: %v, want %v", path, a, b))
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			out = edgeJSONDiff(path+"."+k, x[k], y[k], out)
		}
		return out
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return append(out, fmt.Sprintf("%s: %d items, want %v", path, len(x), b))
		}
		for i := range x {
			out = edgeJSONDiff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], out)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		out = append(out, fmt.Sprintf("%s: %v, want %v", path, a, b))
	}
	return out
}

// edgeOFREPCompare sends every case to the edge and to the Go handler, compares the
// answers and validates the edge's against the specification. Bulk evaluations are sent
// again with If-None-Match (the ETag, weak, in a list, "*"): 304 from both. It returns the
// number of validated responses by status.
func edgeOFREPCompare(t *testing.T, v *ofrepValidator, edge, ref string, cases []edgeOFREPCase) map[int]int {
	t.Helper()
	statuses := map[int]int{}
	check := func(name string, c edgeOFREPCase) exchange {
		got, want := edgeOFREPDo(t, edge, c), edgeOFREPDo(t, ref, c)
		if d := edgeOFREPSame(got, want); d != "" {
			t.Errorf("%s: %s %s %.200q:\n%s", name, c.method, c.path, c.body, d)
		}
		if !c.undocumented {
			if err := v.check(got, c.conforming && got.status != 400); err != nil {
				t.Errorf("%s: %s %.200q → %d %.300s\n%v", name, c.path, c.body, got.status, got.respBody, err)
			}
			statuses[got.status]++
		}
		return got
	}
	for _, c := range cases {
		got := check(c.name, c)
		etag := got.respHeader.Get("ETag")
		if c.path != edgeOFREPBulk || got.status != 200 {
			continue
		}
		if etag == "" {
			t.Errorf("%s: bulk response without ETag", c.name)
			continue
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*", `"other"`} {
			again := c
			again.header = append(slices.Clone(c.header), "If-None-Match", inm)
			r := check(c.name+" If-None-Match "+inm, again)
			if want := 304; inm == `"other"` {
				if r.status != 200 {
					t.Errorf("%s: If-None-Match %s: %d, want 200", c.name, inm, r.status)
				}
			} else if r.status != want {
				t.Errorf("%s: If-None-Match %s: %d, want %d", c.name, inm, r.status, want)
			}
		}
	}
	return statuses
}

// edgeOFREPBulkMeta posts a bulk evaluation to base and returns its ETag and flag-set metadata.
func edgeOFREPBulkMeta(t *testing.T, base, body string) (string, map[string]any) {
	t.Helper()
	x := ofrepPost(t, base, edgeOFREPBulk, body)
	if x.status != 200 {
		t.Fatalf("bulk: %d %s", x.status, x.respBody)
	}
	var r struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(x.respBody, &r); err != nil {
		t.Fatal(err)
	}
	return x.respHeader.Get("ETag"), r.Metadata
}

// edgeOFREPWait retries until cond holds on the edge's bulk metadata.
func edgeOFREPWait(t *testing.T, what, base string, cond func(map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, meta := edgeOFREPBulkMeta(t, base, edgeOFREPContexts[0].body)
		if cond(meta) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last metadata %v", what, meta)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEdgeOFREPWorker runs the Worker in workerd on 127.0.0.1 and holds its OFREP answers to
// the Go handler's for the example flags: every flag for many contexts, bulk evaluations
// and 304s, refused bodies, unknown keys; then a new snapshot (ETags change), a store that
// fails (metadata stale), recovery.
func TestEdgeOFREPWorker(t *testing.T) {
	_, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	hash := store.Publish("production", data)
	edge := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{
		"EDGEFLAG_STORE_URL=" + store.URL, "EDGEFLAG_POLL_INTERVAL_MS=100", "EDGEFLAG_GRACE_MS=1500",
	}, nil)
	native := ofrep.NewNative()
	if _, err := native.Load(data); err != nil {
		t.Fatal(err)
	}
	ref := ofrepServer(t, ofrep.NewHandler(native, ofrep.Options{}))
	v := newOFREPValidator(t, ofrepSpec(t))
	s, _ := snapshot.Decode(data)

	statuses := edgeOFREPCompare(t, v, edge, ref, edgeOFREPCases(s))
	for _, status := range []int{200, 304, 400, 404} {
		if statuses[status] == 0 {
			t.Errorf("no response with status %d was validated", status)
		}
	}
	t.Logf("validated responses by status: %v", statuses)

	// The ETag depends on the context, not on the order of its attributes.
	tag1, meta := edgeOFREPBulkMeta(t, edge, `{"context":{"targetingKey":"user-1001","plan":"pro","groups":["a","b"]}}`)
	tag2, _ := edgeOFREPBulkMeta(t, edge, `{"context":{"groups":["a","b"],"plan":"pro","targetingKey":"user-1001"}}`)
	tag3, _ := edgeOFREPBulkMeta(t, edge, `{"context":{"groups":["b","a"],"plan":"pro","targetingKey":"user-1001"}}`)
	if tag1 != tag2 || tag1 == tag3 {
		t.Errorf("ETags: %s and %s for one context in two orders, %s for another context", tag1, tag2, tag3)
	}
	if meta["snapshot"] != hash || meta["environment"] != "production" || meta["revision"] != "example" {
		t.Errorf("bulk metadata %v", meta)
	}

	// A new snapshot: the ETag of the same context changes, and the old one no longer gets 304.
	killed, killedData := edgeKilled(t, s, "new-search-algorithm")
	killedHash := store.Publish("production", killedData)
	edgeOFREPWait(t, "the new snapshot arrives", edge, func(m map[string]any) bool { return m["snapshot"] == killedHash })
	if _, err := native.Load(killedData); err != nil {
		t.Fatal(err)
	}
	newTag, _ := edgeOFREPBulkMeta(t, edge, `{"context":{"targetingKey":"user-1001","plan":"pro","groups":["a","b"]}}`)
	if newTag == tag1 {
		t.Errorf("the ETag did not change with the snapshot: %s", newTag)
	}
	again := ofrepPost(t, edge, edgeOFREPBulk, `{"context":{"targetingKey":"user-1001","plan":"pro","groups":["a","b"]}}`, "If-None-Match", tag1)
	if again.status != 200 {
		t.Errorf("If-None-Match with the ETag of the previous snapshot: %d, want 200", again.status)
	}
	short := edgeOFREPCases(killed)[:len(killed.Flags)+1] // the first context: every flag, then bulk
	edgeOFREPCompare(t, v, edge, ref, short)

	// The store fails: past the grace period results carry "stale": true, as in Go.
	store.SetFault(storetest.Failing)
	edgeOFREPWait(t, "stale", edge, func(m map[string]any) bool { return m["stale"] == true })
	native.SetStale(true)
	edgeOFREPCompare(t, v, edge, ref, short)
	store.SetFault(storetest.Healthy)
	edgeOFREPWait(t, "recovery", edge, func(m map[string]any) bool { return m["stale"] == nil })
	native.SetStale(false)
	edgeOFREPCompare(t, v, edge, ref, short[:3])
}

// TestEdgeOFREPWorkerAccess checks API keys, CORS and answers before any snapshot against
// the Go handler with the same options.
func TestEdgeOFREPWorkerAccess(t *testing.T) {
	_, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	store.Publish("production", data)
	edge := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{
		"EDGEFLAG_STORE_URL=" + store.URL,
		"EDGEFLAG_OFREP_API_KEYS=first-key, second-key",
		"EDGEFLAG_OFREP_ALLOW_ORIGIN=*",
	}, nil)
	native := ofrep.NewNative()
	if _, err := native.Load(data); err != nil {
		t.Fatal(err)
	}
	ref := ofrepServer(t, ofrep.NewHandler(native, ofrep.Options{Authenticate: ofrep.APIKeys("first-key", "second-key"), AllowOrigin: "*"}))
	v := newOFREPValidator(t, ofrepSpec(t))

	body := edgeOFREPContexts[0].body
	flag := edgeOFREPFlag + "new-search-algorithm"
	var cases []edgeOFREPCase
	for _, path := range []string{flag, edgeOFREPBulk} {
		for i, h := range [][]string{
			nil, {"X-API-Key", "first-key"}, {"X-API-Key", "second-key"}, {"Authorization", "Bearer second-key"},
			{"Authorization", "bearer   first-key  "}, {"X-API-Key", "wrong"}, {"Authorization", "Basic Zmlyc3Qta2V5"},
			{"Authorization", "Bearer"}, {"X-API-Key", "first-key-and-more"}, {"X-API-Key", ""}, {"Authorization", "Bearer wrong", "X-API-Key", "first-key"},
		} {
			cases = append(cases, edgeOFREPCase{name: fmt.Sprintf("%s credentials %d", path, i), path: path, body: body, header: h, conforming: true})
		}
		cases = append(cases,
			edgeOFREPCase{name: "preflight " + path, method: "OPTIONS", path: path, undocumented: true,
				header: []string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST"}},
			edgeOFREPCase{name: "GET " + path, method: "GET", path: path, undocumented: true})
	}
	statuses := edgeOFREPCompare(t, v, edge, ref, cases)
	if statuses[401] == 0 || statuses[200] == 0 {
		t.Errorf("statuses %v: want 200s and 401s", statuses)
	}

	// Before any snapshot (the store is down): 500s, as the Go handler answers with no snapshot.
	down := storetest.New()
	defer down.Close()
	down.SetFault(storetest.Failing)
	empty := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{"EDGEFLAG_STORE_URL=" + down.URL}, nil)
	emptyRef := ofrepServer(t, ofrep.NewHandler(ofrep.NewNative(), ofrep.Options{}))
	cases = []edgeOFREPCase{
		{name: "flag", path: flag, body: body, conforming: true},
		{name: "bulk", path: edgeOFREPBulk, body: body, conforming: true},
		{name: "bad body", path: flag, body: `{"context":1}`},
	}
	if st := edgeOFREPCompare(t, v, empty, emptyRef, cases); st[500] != 2 {
		t.Errorf("no snapshot: statuses %v, want two 500s", st)
	}
	// OFREP can be left to the origin.
	off := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{"EDGEFLAG_STORE_URL=" + down.URL, "EDGEFLAG_OFREP=off"}, nil)
	if x := ofrepPost(t, off, flag, body); x.status != 503 || !strings.Contains(string(x.respBody), "no snapshot loaded") {
		t.Errorf("EDGEFLAG_OFREP=off: %d %s, want the Worker's own 503", x.status, x.respBody)
	}
}

// TestEdgeOFREPNodeClient runs the real Node OFREP provider against the Worker in workerd:
// every example flag for several users, compared with the native evaluator, then errors.
func TestEdgeOFREPNodeClient(t *testing.T) {
	dir := ofrepRequireNode(t)
	s, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	hash := store.Publish("production", data)
	const key = "edge-ofrep-key"
	edge := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{"EDGEFLAG_STORE_URL=" + store.URL, "EDGEFLAG_OFREP_API_KEYS=" + key}, nil)
	ofrepClientScenario(t, dir, edge, key, hash, s, time.Now)
}

// edgeOFREPLambda runs the Lambda@Edge handler in Node.js with settings for store.
func edgeOFREPLambda(t *testing.T, storeURL string, settings map[string]any) *edgeNode {
	t.Helper()
	cfg := map[string]any{"storeURL": storeURL, "environment": "production", "pollIntervalMs": 100, "graceMs": 60000, "wasmPath": edgeWasm(t)}
	for k, v := range settings {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return edgeStartNode(t, "testdata/edge/lambda-invoke.mjs", "EDGEFLAG_CONFIG="+path)
}

// edgeOFREPEvent turns a CloudFront viewer-request event into another OFREP request: c's
// method, path, headers and body (base64, as CloudFront hands it over).
func edgeOFREPEvent(t *testing.T, template json.RawMessage, c edgeOFREPCase) (json.RawMessage, http.Header) {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(template, &ev); err != nil {
		t.Fatal(err)
	}
	req := ev["Records"].([]any)[0].(map[string]any)["cf"].(map[string]any)["request"].(map[string]any)
	method := c.method
	if method == "" {
		method = "POST"
	}
	req["method"], req["uri"] = method, c.path
	req["body"] = map[string]any{"action": "read-only", "encoding": "base64", "inputTruncated": false,
		"data": base64.StdEncoding.EncodeToString([]byte(c.body))}
	headers := req["headers"].(map[string]any)
	delete(headers, "if-none-match")
	header := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(c.header); i += 2 {
		name := strings.ToLower(c.header[i])
		list, _ := headers[name].([]any)
		headers[name] = append(list, map[string]any{"key": c.header[i], "value": c.header[i+1]})
		header.Add(c.header[i], c.header[i+1])
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b, header
}

// edgeOFREPInvoke invokes the function on event and returns its generated response as an
// exchange for request c.
func edgeOFREPInvoke(t *testing.T, fn *edgeNode, event json.RawMessage, c edgeOFREPCase, header http.Header) exchange {
	t.Helper()
	var res edgeLambdaResult
	fn.call(t, event, &res)
	status, err := strconv.Atoi(res.Status)
	if err != nil {
		t.Fatalf("%s: not a generated response: %+v", c.name, res)
	}
	h := http.Header{}
	for name, list := range res.Headers {
		for _, e := range list {
			if !strings.EqualFold(e["key"], name) {
				t.Errorf("%s: header %s has key %q", c.name, name, e["key"])
			}
			h.Add(e["key"], e["value"])
		}
	}
	return exchange{c.path, c.body, header, status, h, []byte(res.Body)}
}

// TestEdgeOFREPLambda invokes the Lambda@Edge handler on CloudFront viewer-request events
// carrying OFREP requests (the events of edge/lambda-edge/events, then variations), holds the
// generated responses to the Go handler's and validates them against the specification;
// with the OpenFeature reason style, then a missing and a truncated body.
func TestEdgeOFREPLambda(t *testing.T) {
	s, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	store.Publish("production", data)
	v := newOFREPValidator(t, ofrepSpec(t))
	flagEvent, bulkEvent := edgeEvent(t, "ofrep-flag-request.json"), edgeEvent(t, "ofrep-bulk-request.json")

	for _, style := range []struct {
		name     string
		settings map[string]any
		opts     ofrep.Options
	}{
		{"spec reasons", nil, ofrep.Options{}},
		{"OpenFeature reasons", map[string]any{"ofrepReasons": "openfeature"}, ofrep.Options{Reasons: ofrep.OpenFeatureReasons}},
	} {
		t.Run(style.name, func(t *testing.T) {
			fn := edgeOFREPLambda(t, store.URL, style.settings)
			native := ofrep.NewNative()
			if _, err := native.Load(data); err != nil {
				t.Fatal(err)
			}
			ref := ofrepServer(t, ofrep.NewHandler(native, style.opts))

			// The events as they are: evaluations, the bulk one with an If-None-Match that
			// does not match.
			for _, ev := range []struct {
				event  json.RawMessage
				status int
			}{{flagEvent, 200}, {bulkEvent, 200}} {
				var res edgeLambdaResult
				fn.call(t, ev.event, &res)
				if res.Status != strconv.Itoa(ev.status) || res.Headers["content-type"][0]["value"] != "application/json" {
					t.Fatalf("event: %+v", res)
				}
			}

			var cases []edgeOFREPCase
			for i, c := range edgeOFREPContexts[:8] {
				for _, f := range s.Flags[:12] {
					cases = append(cases, edgeOFREPCase{name: fmt.Sprintf("context %d, %s", i, f.Key), path: edgeOFREPFlag + f.Key, body: c.body, conforming: c.conforming})
				}
				cases = append(cases, edgeOFREPCase{name: fmt.Sprintf("context %d, bulk", i), path: edgeOFREPBulk, body: c.body, conforming: c.conforming})
			}
			cases = append(cases,
				edgeOFREPCase{name: "unknown flag", path: edgeOFREPFlag + "no-such-flag", body: edgeOFREPContexts[0].body, conforming: true},
				edgeOFREPCase{name: "encoded key", path: edgeOFREPFlag + "a%22b%FF", body: edgeOFREPContexts[0].body, conforming: true},
				edgeOFREPCase{name: "GET", method: "GET", path: edgeOFREPBulk, undocumented: true})
			for i, b := range append(edgeOFREPBadBodies()[:20], edgeOFREPOverLimits()...) {
				cases = append(cases, edgeOFREPCase{name: fmt.Sprintf("bad body %d", i), path: edgeOFREPFlag + "new-search-algorithm", body: b})
			}
			statuses := map[int]int{}
			for _, c := range cases {
				template := flagEvent
				if c.path == edgeOFREPBulk {
					template = bulkEvent
				}
				event, header := edgeOFREPEvent(t, template, c)
				got := edgeOFREPInvoke(t, fn, event, c, header)
				want := edgeOFREPDo(t, ref, c)
				if d := edgeOFREPSame(got, want); d != "" {
					t.Errorf("%s: %.200q:\n%s", c.name, c.body, d)
				}
				if c.undocumented {
					continue
				}
				statuses[got.status]++
				if style.opts.Reasons == ofrep.SpecReasons {
					if err := v.check(got, c.conforming && got.status != 400); err != nil {
						t.Errorf("%s: %.200q → %d %.300s\n%v", c.name, c.body, got.status, got.respBody, err)
					}
				}
				if etag := got.respHeader.Get("ETag"); etag != "" {
					c.header = []string{"If-None-Match", etag}
					event, header := edgeOFREPEvent(t, template, c)
					again := edgeOFREPInvoke(t, fn, event, c, header)
					if again.status != 304 || len(again.respBody) != 0 || again.respHeader.Get("ETag") != etag {
						t.Errorf("%s: If-None-Match: %d %s %q", c.name, again.status, again.respBody, again.respHeader.Get("ETag"))
					}
					if err := v.check(again, c.conforming); err != nil {
						t.Errorf("%s: 304: %v", c.name, err)
					}
					statuses[304]++
				}
			}
			t.Logf("responses by status: %v", statuses)
			for _, status := range []int{200, 304, 400, 404} {
				if statuses[status] == 0 {
					t.Errorf("no response with status %d", status)
				}
			}
		})
	}

	fn := edgeOFREPLambda(t, store.URL, map[string]any{"ofrepApiKeys": []string{"lambda-key"}})
	invoke := func(mutate func(req map[string]any)) edgeLambdaResult {
		t.Helper()
		var ev map[string]any
		json.Unmarshal(flagEvent, &ev)
		req := ev["Records"].([]any)[0].(map[string]any)["cf"].(map[string]any)["request"].(map[string]any)
		req["headers"].(map[string]any)["x-api-key"] = []any{map[string]any{"key": "X-API-Key", "value": "lambda-key"}}
		mutate(req)
		b, _ := json.Marshal(ev)
		var res edgeLambdaResult
		fn.call(t, json.RawMessage(b), &res)
		return res
	}
	// Credentials.
	if res := invoke(func(req map[string]any) { delete(req["headers"].(map[string]any), "x-api-key") }); res.Status != "401" || res.Body != "" {
		t.Errorf("no API key: %+v", res)
	}
	if res := invoke(func(map[string]any) {}); res.Status != "200" {
		t.Errorf("with the API key: %+v", res)
	}
	// A distribution whose association does not include the body.
	res := invoke(func(req map[string]any) { delete(req, "body") })
	if res.Status != "500" || !strings.Contains(res.Body, "IncludeBody") {
		t.Errorf("no body: %+v", res)
	}
	// A body CloudFront truncated.
	res = invoke(func(req map[string]any) { req["body"].(map[string]any)["inputTruncated"] = true })
	if res.Status != "400" || !strings.Contains(res.Body, `"errorCode":"INVALID_CONTEXT"`) || !strings.Contains(res.Body, "40 KB") {
		t.Errorf("truncated body: %+v", res)
	}
	// Other requests still go on to the origin with the flag headers.
	var req edgeLambdaResult
	fn.call(t, edgeEvent(t, "viewer-request.json"), &req)
	if req.URI != "/checkout" || req.Status != "" || len(req.Headers["x-edgeflag-snapshot"]) != 1 {
		t.Errorf("viewer request: %+v", req)
	}
}
