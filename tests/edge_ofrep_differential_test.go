package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
)

// ofrepDiffRequest is one OFREP request of the differential test, in the shape the JS
// harnesses read (diff-core.mjs runOFREP).
type ofrepDiffRequest struct {
	Key     *string `json:"k"` // nil: bulk
	Body    []byte  `json:"b"` // base64 in JSON, so that bytes that are not UTF-8 cross as they are
	INM     string  `json:"i"`
	Stale   bool    `json:"s"`
	Reasons bool    `json:"r"`
	At      int64   `json:"t"`
}

// TestEdgeOFREPDifferential answers OFREP requests built from the differential test's
// generated contexts — single and bulk, both reason styles, stale, If-None-Match hits and
// misses, unknown and over-long keys, malformed and ill-typed bodies — natively (package
// protocol over the native evaluator), in the module under wazero, in Node.js and in
// workerd, and requires the same status, ETag and body bytes from all four.
func TestEdgeOFREPDifferential(t *testing.T) {
	n := edgeDiffContexts
	if testing.Short() {
		n /= 10
	}
	edgeRequireJS(t)
	s, data := edgeExampleSnapshot(t, "production")
	native := evaluator.New(s)
	hash, err := snapshot.Hash(data)
	if err != nil {
		t.Fatal(err)
	}
	version := protocol.Version{Snapshot: hash, Environment: s.Environment, Revision: s.Revision}
	keys := make([]string, 0, len(s.Flags)+2)
	for _, f := range s.Flags {
		keys = append(keys, f.Key)
	}
	keys = append(keys, "no-such-flag", strings.Repeat("k", protocol.MaxKeySize+1))

	wz, node, workerd := edgeDiffRuntimes(t, data, len(s.Flags))

	gen := newEdgeContextGen(s, 11)
	answerer := protocol.NewAnswerer()
	statuses := map[int]int{}
	var nat, wzBody []byte
	const batch = 5000
	start := time.Now()
	for first := 0; first < n; first += batch {
		size := min(batch, n-first)
		reqs := make([]ofrepDiffRequest, size)
		sum := sha256.New()
		for i := range reqs {
			r := gen.ofrepRequest(first+i, keys)
			req := r.request()
			res := answerer.Answer(nat[:0], native, version, &req)
			nat = res.Body
			if req.Bulk && res.Status == 200 && gen.r.IntN(4) == 0 {
				// Ask again with the ETag just given: every runtime must answer 304.
				r.INM = `"other", ` + string(res.ETag)
				req.IfNoneMatch = r.INM
				res = answerer.Answer(nat[:0], native, version, &req)
				nat = res.Body
			}
			reqs[i] = r
			statuses[res.Status]++
			line := strconv.Itoa(res.Status) + " " + string(res.ETag) + " " + string(res.Body)

			got, err := wz.OFREP(wzBody[:0], &req)
			if err != nil {
				t.Fatal(err)
			}
			wzBody = got.Body
			if wzLine := strconv.Itoa(got.Status) + " " + string(got.ETag) + " " + string(got.Body); wzLine != line {
				t.Fatalf("request %d %v:\n wazero %s\n native %s", first+i, r, wzLine, line)
			}
			sum.Write([]byte(line))
			sum.Write([]byte{'\n'})
		}
		want := hex.EncodeToString(sum.Sum(nil))
		body, err := json.Marshal(map[string]any{"op": "ofrep", "requests": reqs})
		if err != nil {
			t.Fatal(err)
		}
		type digest struct {
			Count  int    `json:"count"`
			Digest string `json:"digest"`
		}
		var fromNode, fromWorkerd digest
		node.call(t, json.RawMessage(body), &fromNode)
		edgePost(t, workerd+"/ofrep", bytes.NewReader(body), &fromWorkerd)
		for _, rt := range []struct {
			name string
			got  digest
		}{{"node", fromNode}, {"workerd", fromWorkerd}} {
			if rt.got.Count != size || rt.got.Digest != want {
				ofrepDiffExplain(t, rt.name, node, workerd, body, reqs, native, version)
				t.Fatalf("%s: OFREP batch at request %d: %d answers, digest %s; native %d, digest %s",
					rt.name, first, rt.got.Count, rt.got.Digest, size, want)
			}
		}
	}
	for _, status := range []int{200, 304, 400, 404} {
		if statuses[status] == 0 {
			t.Errorf("no generated request was answered %d: the generator misses branches", status)
		}
	}
	t.Logf("%d OFREP requests answered identically natively, under wazero, in Node.js and in workerd in %v; statuses %v",
		n, time.Since(start).Round(time.Millisecond), statuses)
}

// String describes r for a failure message.
func (r ofrepDiffRequest) String() string {
	key := "bulk"
	if r.Key != nil {
		key = "key " + strconv.Quote(*r.Key)
	}
	return fmt.Sprintf("%s, body %q, If-None-Match %q, stale %v, OpenFeature reasons %v, at %d", key, r.Body, r.INM, r.Stale, r.Reasons, r.At)
}

// request is r as the protocol.Request the Go side answers.
func (r *ofrepDiffRequest) request() protocol.Request {
	req := protocol.Request{Body: r.Body, IfNoneMatch: r.INM, At: r.At, Stale: r.Stale, Bulk: r.Key == nil}
	if r.Key != nil {
		req.Key = *r.Key
	}
	if r.Reasons {
		req.Reasons = protocol.OpenFeatureReasons
	}
	return req
}

// ofrepRequest turns the next generated context into an OFREP request; i picks its shape.
func (g *edgeContextGen) ofrepRequest(i int, keys []string) ofrepDiffRequest {
	m, at := g.next()
	r := ofrepDiffRequest{At: at, Stale: i%11 == 0, Reasons: i%2 == 0}
	if i%3 != 0 {
		key := keys[g.r.IntN(len(keys))]
		r.Key = &key
	}
	if g.r.IntN(3) == 0 {
		r.INM = `"` + strconv.Itoa(g.r.IntN(100)) + `"`
	}
	ctx := map[string]any{}
	for k, v := range m {
		ctx[k] = v
	}
	switch g.r.IntN(4) {
	case 0:
		ctx["targetingKey"] = g.id("user")
	case 1:
		ctx["targetingKey"] = g.random()
	}
	body, _ := json.Marshal(map[string]any{"context": ctx})
	switch i % 61 {
	case 7:
		body = body[:g.r.IntN(len(body))] // cut short
	case 13:
		body = []byte(`{"context":["not", "an", "object"]}`)
	case 29:
		body = []byte(`{"context":{"nested":{"deeper":{"list":[1,{"x":2}]}}}}`)
	case 41:
		body = []byte(`{}`)
	case 53:
		body = []byte(`{"context":{"targetingKey":"u1","n":1e400}}`)
	}
	r.Body = body
	return r
}

// ofrepDiffExplain fetches a failed batch's answers from the runtime and reports the first
// that differs from the native one.
func ofrepDiffExplain(t *testing.T, name string, node *edgeNode, workerd string, body []byte, reqs []ofrepDiffRequest, native *evaluator.Evaluator, v protocol.Version) {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	got := edgeDiffOutputs(t, name, node, workerd, "/ofrep", req)
	a := protocol.NewAnswerer()
	for i, r := range reqs {
		pr := r.request()
		res := a.Answer(nil, native, v, &pr)
		want := strconv.Itoa(res.Status) + " " + string(res.ETag) + " " + string(res.Body)
		if i >= len(got) || got[i] != want {
			g := "<missing>"
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("%s differs at request %v:\n %s %s\n native %s", name, r, name, g, want)
			return
		}
	}
}
