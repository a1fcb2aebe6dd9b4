package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/signing"
)

// TestEdgeSigningVectors verifies the test vectors the Go verifier is tested with
// (signing/testdata/vectors.json) with the JavaScript edges' verifier, under both
// WebCrypto implementations the edges use: the same cases verify and fail alike.
func TestEdgeSigningVectors(t *testing.T) {
	edgeRequireJS(t)
	root := edgeRoot(t)
	vectors := filepath.Join(root, "signing/testdata/vectors.json")
	out, err := exec.Command("node", filepath.Join(root, "tests/testdata/edge/signing-vectors.mjs"), vectors).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		KeyIDs  []string `json:"keyIds"`
		Results []struct {
			Name, Kind string
		} `json:"results"`
		ImportErrors []string `json:"importErrors"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	var file struct {
		KeyIDs []string `json:"keyIds"`
		Cases  []struct {
			Name, Error string
		} `json:"cases"`
	}
	b, _ := os.ReadFile(vectors)
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.KeyIDs, ",") != strings.Join(file.KeyIDs, ",") {
		t.Errorf("JavaScript key IDs %v, Go's %v", got.KeyIDs, file.KeyIDs)
	}
	if len(got.Results) != 2*len(file.Cases) || len(file.Cases) < 10 {
		t.Fatalf("%d results for %d cases", len(got.Results), len(file.Cases))
	}
	for i, r := range got.Results {
		if want := file.Cases[i%len(file.Cases)].Error; r.Kind != want {
			t.Errorf("%s: JavaScript says %q, the vector %q", r.Name, r.Kind, want)
		}
	}
	for _, e := range got.ImportErrors {
		t.Errorf("importPublicKeys: %s", e)
	}
}

// edgeJSHealth is what the JavaScript edges answer on /.edgeflag/health.
type edgeJSHealth struct {
	Signatures     string `json:"signatures"`
	PointerVersion int64  `json:"pointerVersion"`
	KeyID          string `json:"keyId"`
	Pointer        struct {
		Snapshot string `json:"snapshot"`
	} `json:"pointer"`
	Stale     bool   `json:"stale"`
	LastError string `json:"lastError"`
}

// signedStore is a store with signed pointers and the bad pointers an attacker with
// write access to the bucket could put there.
type signedStore struct {
	*storetest.Server
	key, next  *signing.LocalSigner
	publicKeys string // both keys: a rotation in progress
	hash       string // production version 2
	bad        []struct{ name, pointer, reason string }
}

func newSignedStore(t *testing.T) *signedStore {
	t.Helper()
	_, prod := edgeExampleSnapshot(t, "production")
	_, staging := edgeExampleSnapshot(t, "staging")
	s := &signedStore{Server: storetest.New()}
	t.Cleanup(s.Close)
	s.key, _ = signing.GenerateKey()
	s.next, _ = signing.GenerateKey()
	s.publicKeys = string(signing.PublicKeyPEM(s.key.PublicKey())) + string(signing.PublicKeyPEM(s.next.PublicKey()))
	stagingHash := s.PublishSigned("staging", staging, s.key, 40)
	s.PublishSigned("production", prod, s.key, 1)
	old := string(s.Get("production/current.json"))
	s.hash = s.PublishSigned("production", prod, s.key, 2)
	good := string(s.Get("production/current.json"))
	s.bad = []struct{ name, pointer, reason string }{
		{"tampered", strings.ReplaceAll(good, s.hash, stagingHash), "signature does not verify"},
		{"cross-environment", strings.Replace(string(s.Get("staging/current.json")), `"environment":"staging"`, `"environment":"production"`, 1), "signature does not verify"},
		{"replayed", old, "older than the pointer this edge serves"},
	}
	return s
}

// check walks an edge through the bad pointers: each is refused with its reason while
// the edge keeps answering with the good snapshot, the edge turns stale, and a pointer
// signed with the second key of the rotation is taken and makes it fresh again.
func (s *signedStore) check(t *testing.T, health func() edgeJSHealth, flags func() edgeFlagsAnswer) {
	t.Helper()
	wait := func(what string, cond func(edgeJSHealth) bool) edgeJSHealth {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			h := health()
			if cond(h) {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: never happened; last health %+v", what, h)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("the signed snapshot loads", func(h edgeJSHealth) bool {
		return h.Pointer.Snapshot == s.hash && h.PointerVersion == 2 && h.Signatures == "required" && h.KeyID == signing.KeyID(s.key.PublicKey())
	})
	for _, b := range s.bad {
		s.Put("production/current.json", []byte(b.pointer))
		h := wait(b.name+" pointer refused", func(h edgeJSHealth) bool { return strings.Contains(h.LastError, b.reason) })
		if h.Pointer.Snapshot != s.hash || h.PointerVersion != 2 || !strings.Contains(h.LastError, "refused") {
			t.Fatalf("%s: health %+v", b.name, h)
		}
		if a := flags(); a.Snapshot != s.hash {
			t.Fatalf("%s: the edge answers with snapshot %s, want the last good %s", b.name, a.Snapshot, s.hash)
		}
	}
	wait("stale after refusing for the grace period", func(h edgeJSHealth) bool { return h.Stale })
	if a := flags(); a.Snapshot != s.hash || !a.Stale {
		t.Fatalf("while refusing: snapshot %s stale %v", a.Snapshot, a.Stale)
	}
	_, prod := edgeExampleSnapshot(t, "production")
	s.PublishSigned("production", prod, s.next, 3)
	wait("a pointer signed by the next key", func(h edgeJSHealth) bool {
		return h.PointerVersion == 3 && !h.Stale && h.LastError == "" && h.KeyID == signing.KeyID(s.next.PublicKey())
	})
}

func TestEdgeWorkerSigned(t *testing.T) {
	s := newSignedStore(t)
	base := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{
		"EDGEFLAG_STORE_URL=" + s.URL,
		"EDGEFLAG_ENVIRONMENT=production",
		"EDGEFLAG_POLL_INTERVAL_MS=100",
		"EDGEFLAG_GRACE_MS=1500",
		"EDGEFLAG_PUBLIC_KEYS=" + s.publicKeys,
	}, nil)
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %s %s", path, resp.Status, b)
		}
	}
	s.check(t,
		func() (h edgeJSHealth) { get("/.edgeflag/health", &h); return h },
		func() (a edgeFlagsAnswer) { get("/.edgeflag/flags", &a); return a })

	// A Worker without keys serves what the bucket says, signed or not.
	unsigned := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{"EDGEFLAG_STORE_URL=" + s.URL, "EDGEFLAG_POLL_INTERVAL_MS=100"}, nil)
	_, staging := edgeExampleSnapshot(t, "staging")
	hash := s.Publish("production", staging)
	resp, err := http.Get(unsigned + "/.edgeflag/health")
	if err != nil {
		t.Fatal(err)
	}
	var h edgeJSHealth
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Signatures != "off" || h.Pointer.Snapshot != hash {
		t.Fatalf("a Worker without keys: %+v", h)
	}
}

func TestEdgeLambdaSigned(t *testing.T) {
	s := newSignedStore(t)
	cfg, _ := json.Marshal(map[string]any{
		"storeURL": s.URL, "environment": "production", "pollIntervalMs": 100, "graceMs": 1500,
		"wasmPath": edgeWasm(t), "publicKeys": []string{string(signing.PublicKeyPEM(s.key.PublicKey())), string(signing.PublicKeyPEM(s.next.PublicKey()))},
	})
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	fn := edgeStartNode(t, "testdata/edge/lambda-invoke.mjs", "EDGEFLAG_CONFIG="+path)
	flagsEvent := edgeEvent(t, "flags-request.json")
	healthEvent := bytes.Replace(flagsEvent, []byte(`"/.edgeflag/flags"`), []byte(`"/.edgeflag/health"`), 1)
	invoke := func(event json.RawMessage, v any) {
		t.Helper()
		var res edgeLambdaResult
		fn.call(t, event, &res)
		if err := json.Unmarshal([]byte(res.Body), v); err != nil {
			t.Fatalf("answer %+v: %v", res, err)
		}
	}
	s.check(t,
		func() (h edgeJSHealth) { invoke(healthEvent, &h); return h },
		func() (a edgeFlagsAnswer) { invoke(flagsEvent, &a); return a })
	if !strings.Contains(fn.logs.String(), "refused") {
		t.Errorf("the refusals were not logged:\n%s", fn.logs)
	}
}
