package tests

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// resolveSnapshots are the snapshots of the resolve tests: the example flags (flags/) in
// two environments and the flags of the peer comparison (bench/peers/flags).
func resolveSnapshots(t *testing.T) (snaps []*snapshot.Snapshot, encoded [][]byte) {
	t.Helper()
	for _, src := range []struct{ dir, env string }{{"flags", "production"}, {"bench/peers/flags", "production"}, {"flags", "staging"}} {
		all, err := compiler.Compile(filepath.Join(edgeRoot(t), src.dir), compiler.Options{Revision: "example", BuildTime: 1_790_000_000})
		if err != nil {
			t.Fatalf("compiling %s: %v", src.dir, err)
		}
		s, ok := all[src.env]
		if !ok {
			t.Fatalf("%s has no environment %s", src.dir, src.env)
		}
		data := snapshot.Encode(s)
		decoded, err := snapshot.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		snaps, encoded = append(snaps, decoded), append(encoded, data)
	}
	return snaps, encoded
}

// TestResolveReadsNative checks snapshot.FlagReads against the evaluator: for generated
// contexts, every flag evaluated for a context of only the attributes it reads, set by
// index (SetIndexed), gets the variant, reason and error code that it gets for the whole
// context; and a flag that reads nothing and does not
// depend on time gets the same answer for every context and time.
func TestResolveReadsNative(t *testing.T) {
	snaps, _ := resolveSnapshots(t)
	for _, s := range snaps {
		e := evaluator.New(s)
		reads := s.FlagReads()
		gen := newEdgeContextGen(s, 11)
		full, part := evaluator.NewContext(), evaluator.NewContext()
		constant := map[int]string{}
		for n := 0; n < 3000; n++ {
			m, at := gen.next()
			edgeSetContext(full, m)
			for i := range s.Flags {
				want := e.EvaluateAt(s.Flags[i].Key, full, at)
				part.ResetIndexed(s)
				for _, a := range reads[i].Attributes {
					if v, ok := m[s.Attributes[a]]; ok {
						part.SetIndexed(a, edgeValue(v))
					}
				}
				got := e.EvaluateAt(s.Flags[i].Key, part, at)
				if got.Variant != want.Variant || got.Reason != want.Reason || got.Error != want.Error {
					t.Fatalf("%s: flag %s for %v at %d: indexed %q %s %s, whole context %q %s %s (reads %v)",
						s.Environment, s.Flags[i].Key, m, at, got.Variant, got.Reason, got.Error, want.Variant, want.Reason, want.Error, reads[i])
				}
				if len(reads[i].Attributes) == 0 && !reads[i].Time {
					got := want.Variant + " " + string(want.Reason) + " " + string(want.Error)
					if first, ok := constant[i]; ok && first != got {
						t.Fatalf("%s: flag %s reads nothing but answers %s, and %s before", s.Environment, s.Flags[i].Key, got, first)
					}
					constant[i] = got
				}
			}
		}
	}
}

// TestResolveDifferentialNode evaluates generated contexts, and variants of them that are
// not contexts evaluateJSON() accepts, with Evaluator.resolve and Evaluator.evaluateJSON in
// Node.js with the module, over the example flags and the peer comparison's, loading the
// snapshots one after the other (so that what resolve keeps per snapshot is renewed):
// value, variant, reason and error code must be the same.
func TestResolveDifferentialNode(t *testing.T) {
	edgeRequireJS(t)
	snaps, encoded := resolveSnapshots(t)
	n := 2000
	if testing.Short() {
		n = 400
	}
	req := map[string]any{}
	var b64 []string
	for _, i := range []int{0, 1, 2, 0} { // the first again: nothing kept from the others
		b64 = append(b64, base64.StdEncoding.EncodeToString(encoded[i]))
	}
	req["snapshots"] = b64
	keys := map[string]bool{"no-such-flag": true}
	contexts := make([]map[string]any, 0, n)
	var ats []int64
	for k, s := range snaps {
		for _, f := range s.Flags {
			keys[f.Key] = true
		}
		gen := newEdgeContextGen(s, uint64(20+k))
		for range n / len(snaps) {
			m, at := gen.next()
			contexts = append(contexts, m)
			ats = append(ats, at)
		}
	}
	var keyList []string
	for k := range keys {
		keyList = append(keyList, k)
	}
	req["contexts"], req["ats"], req["keys"] = contexts, ats, keyList
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command("node", "--no-warnings", "testdata/edge/resolve-diff.mjs")
	cmd.Env = append(os.Environ(), "EDGEFLAG_WASM="+edgeWasm(t))
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res struct {
		Compared   int              `json:"compared"`
		Fast       int              `json:"fast"`
		Mismatches []map[string]any `json:"mismatches"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node answered %.300s: %v", out, err)
	}
	for _, m := range res.Mismatches {
		t.Errorf("resolve and evaluate differ: %v", m)
	}
	generated := len(b64) * len(contexts) * len(keyList)
	if res.Compared < generated {
		t.Fatalf("%d comparisons, want at least %d", res.Compared, generated)
	}
	// Most generated contexts are answered by the module's resolve path itself; the odd
	// ones, unknown keys and error results by evaluateJSON().
	if res.Fast < generated/2 {
		t.Errorf("only %d of %d answers by the resolve path", res.Fast, res.Compared)
	}
	t.Logf("%d comparisons (%d by the resolve path) identical in %v", res.Compared, res.Fast, time.Since(start).Round(time.Millisecond))
}
