package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// edgeDiffContexts is the number of generated contexts of the differential test;
// go test -short uses a tenth.
const edgeDiffContexts = 100_000

// edgeDiffEvery: every this many contexts, each flag is also evaluated on its own.
const edgeDiffEvery = 50

// TestEdgeDifferential evaluates generated contexts against every example flag (flags/,
// compiled with the compiler) natively, under wazero, in Node.js and in workerd, and
// requires byte-identical results: the same value, variant, reason and decision.
func TestEdgeDifferential(t *testing.T) {
	n := edgeDiffContexts
	if testing.Short() {
		n /= 10
	}
	edgeRequireJS(t)
	s, data := edgeExampleSnapshot(t, "production")
	native := evaluator.New(s)
	keys := make([]string, 0, len(s.Flags)+1)
	for _, f := range s.Flags {
		keys = append(keys, f.Key)
	}
	keys = append(keys, "no-such-flag")

	wz, node, workerd := edgeDiffRuntimes(t, data, len(s.Flags))

	gen := newEdgeContextGen(s, 7)
	const batch = 5000
	ctx := evaluator.NewContext()
	var nat, wzOut, jsonCtx []byte
	var results []evaluator.Result
	start := time.Now()
	var evaluations int
	reasons := map[evaluator.Reason]int{}
	for first := 0; first < n; first += batch {
		size := min(batch, n-first)
		contexts := make([]map[string]any, size)
		ats := make([]int64, size)
		for i := range contexts {
			contexts[i], ats[i] = gen.next()
		}
		req := map[string]any{"op": "batch", "contexts": contexts, "at": ats, "keys": keys, "every": edgeDiffEvery, "start": first}
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		type digest struct {
			Count  int    `json:"count"`
			Digest string `json:"digest"`
		}
		nodeDone, workerdDone := make(chan digest, 1), make(chan digest, 1)
		go func() {
			var d digest
			node.call(t, json.RawMessage(body), &d)
			nodeDone <- d
		}()
		go func() {
			var d digest
			edgePost(t, workerd+"/batch", bytes.NewReader(body), &d)
			workerdDone <- d
		}()

		sum := sha256.New()
		count := 0
		for i, m := range contexts {
			edgeSetContext(ctx, m)
			at := time.UnixMilli(ats[i])
			results = native.EvaluateAll(ctx, at, results[:0])
			for j := range results {
				reasons[results[j].Reason]++
			}
			nat = append(nat[:0], `{"flags":[`...)
			for j := range results {
				if j > 0 {
					nat = append(nat, ',')
				}
				nat = results[j].AppendJSON(nat)
			}
			nat = append(nat, "]}"...)
			if wzOut, err = wz.EvaluateAll(wzOut[:0], ctx, at); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(nat, wzOut) {
				t.Fatalf("context %d %v at %d:\n wazero %s\n native %s", first+i, m, ats[i], wzOut, nat)
			}
			if (first+i)%7 == 0 { // the same context as JSON, through the module's JSON parser
				jsonCtx, _ = json.Marshal(m)
				if wzOut, err = wz.EvaluateAllEncoded(wzOut[:0], jsonCtx, at); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(nat, wzOut) {
					t.Fatalf("context %d as JSON %s at %d:\n wazero %s\n native %s", first+i, jsonCtx, ats[i], wzOut, nat)
				}
			}
			sum.Write(nat)
			sum.Write([]byte{'\n'})
			count++
			if (first+i)%edgeDiffEvery == 0 {
				for _, key := range keys {
					r := native.Evaluate(key, ctx, at)
					reasons[r.Reason]++
					nat = r.AppendJSON(nat[:0])
					if wzOut, err = wz.Evaluate(wzOut[:0], key, ctx, at); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(nat, wzOut) {
						t.Fatalf("context %d %v flag %s at %d:\n wazero %s\n native %s", first+i, m, key, ats[i], wzOut, nat)
					}
					sum.Write(nat)
					sum.Write([]byte{'\n'})
					count++
				}
			}
		}
		evaluations += count
		want := hex.EncodeToString(sum.Sum(nil))
		for _, rt := range []struct {
			name string
			got  digest
		}{{"node", <-nodeDone}, {"workerd", <-workerdDone}} {
			if rt.got.Count != count || rt.got.Digest != want {
				edgeDiffExplain(t, rt.name, node, workerd, req, native, ctx)
				t.Fatalf("%s: batch at context %d: %d outputs, digest %s; native %d outputs, digest %s",
					rt.name, first, rt.got.Count, rt.got.Digest, count, want)
			}
		}
	}
	for _, r := range []evaluator.Reason{evaluator.ReasonTargetingMatch, evaluator.ReasonSplit, evaluator.ReasonDefault, evaluator.ReasonDisabled, evaluator.ReasonError} {
		if reasons[r] == 0 {
			t.Errorf("no generated context led to reason %s: the generator misses branches", r)
		}
	}
	t.Logf("reasons: %v", reasons)
	t.Logf("%d contexts × %d flags (%d results per runtime) identical natively, under wazero, in Node.js and in workerd, in %v",
		n, len(s.Flags), evaluations, time.Since(start).Round(time.Millisecond))
}

// edgeDiffRuntimes starts the three runtimes a differential test compares with native
// evaluation — the module under wazero, in Node.js and in workerd — with the encoded
// snapshot data of flags flags loaded in each; the test's cleanup stops them.
func edgeDiffRuntimes(t *testing.T, data []byte, flags int) (wz *host.Evaluator, node *edgeNode, workerd string) {
	t.Helper()
	wasmPath := edgeWasm(t)
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	wz, err = host.New(context.Background(), wasm, host.Config{Instances: 1, CacheDir: filepath.Join(edgeRoot(t), ".cache/wazero")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wz.Close(context.Background()) })
	if _, err := wz.Load(data); err != nil {
		t.Fatal(err)
	}
	node = edgeStartNode(t, "testdata/edge/node-harness.mjs", "EDGEFLAG_WASM="+wasmPath)
	var info map[string]any
	node.call(t, map[string]any{"op": "load", "snapshot": base64.StdEncoding.EncodeToString(data)}, &info)
	if info["flags"] != float64(flags) {
		t.Fatalf("node loaded %v", info)
	}
	workerd = edgeWorkerd(t, "tests/harness/harness.capnp", nil, edgeHarnessFiles(t))
	edgePost(t, workerd+"/load", bytes.NewReader(data), &info)
	if info["flags"] != float64(flags) {
		t.Fatalf("workerd loaded %v", info)
	}
	return wz, node, workerd
}

// edgeDiffExplain fetches a failed batch's outputs and reports the first that differs.
func edgeDiffExplain(t *testing.T, name string, node *edgeNode, workerd string, req map[string]any, native *evaluator.Evaluator, ctx *evaluator.Context) {
	t.Helper()
	got := edgeDiffOutputs(t, name, node, workerd, "/batch", req)
	contexts := req["contexts"].([]map[string]any)
	ats := req["at"].([]int64)
	keys := req["keys"].([]string)
	first := req["start"].(int)
	k := 0
	for i, m := range contexts {
		edgeSetContext(ctx, m)
		at := time.UnixMilli(ats[i])
		var want [][]byte
		all := []byte(`{"flags":[`)
		for j, r := range native.EvaluateAll(ctx, at, nil) {
			if j > 0 {
				all = append(all, ',')
			}
			all = r.AppendJSON(all)
		}
		want = append(want, append(all, "]}"...))
		if (first+i)%edgeDiffEvery == 0 {
			for _, key := range keys {
				r := native.Evaluate(key, ctx, at)
				want = append(want, r.AppendJSON(nil))
			}
		}
		for _, w := range want {
			if k >= len(got) || got[k] != string(w) {
				g := "<missing>"
				if k < len(got) {
					g = got[k]
				}
				t.Errorf("%s differs at context %d %v at %d:\n %s %s\n native %s", name, first+i, m, ats[i], name, g, w)
				return
			}
			k++
		}
	}
}

// edgeDiffOutputs sends a failed batch request again to runtime name ("node", or workerd
// at path) asking for every output rather than their digest, and returns them.
func edgeDiffOutputs(t *testing.T, name string, node *edgeNode, workerd, path string, req map[string]any) []string {
	t.Helper()
	full := map[string]any{"full": true}
	for k, v := range req {
		full[k] = v
	}
	var got struct {
		Outputs []string `json:"outputs"`
	}
	if name == "node" {
		node.call(t, full, &got)
	} else {
		b, _ := json.Marshal(full)
		edgePost(t, workerd+path, bytes.NewReader(b), &got)
	}
	return got.Outputs
}

// edgeHarnessFiles returns the workerd harness files, placed under tests/harness/.
func edgeHarnessFiles(t testing.TB) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, name := range []string{"harness.capnp", "harness-worker.mjs", "diff-core.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata/edge", name))
		if err != nil {
			t.Fatal(err)
		}
		files["tests/harness/"+name] = string(b)
	}
	return files
}

// edgeSetContext fills ctx from a generated context.
func edgeSetContext(ctx *evaluator.Context, m map[string]any) {
	ctx.Reset()
	for name, v := range m {
		ctx.Set(name, edgeValue(v))
	}
}

func edgeValue(v any) evaluator.Value {
	switch v := v.(type) {
	case string:
		return evaluator.String(v)
	case float64:
		return evaluator.Number(v)
	case bool:
		return evaluator.Bool(v)
	case []any:
		items := make([]evaluator.Value, len(v))
		for i, x := range v {
			items[i] = edgeValue(x)
		}
		return evaluator.List(items...)
	}
	return evaluator.Value{}
}

// edgeContextGen generates contexts that reach every branch of a snapshot's flags: values
// taken from the clauses' own literals (and near misses of them), random values, missing
// attributes, lists, non-ASCII strings, and times around the schedule steps.
type edgeContextGen struct {
	r        *rand.Rand
	attrs    []string
	literals [][]snapshot.Literal // per attribute
	steps    []int64
	base     int64
}

func newEdgeContextGen(s *snapshot.Snapshot, seed uint64) *edgeContextGen {
	g := &edgeContextGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), attrs: s.Attributes,
		literals: make([][]snapshot.Literal, len(s.Attributes)),
		base:     time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).UnixMilli()}
	var walk func(c *snapshot.Condition)
	portion := func(p *snapshot.Portion) {
		for _, st := range p.Steps {
			g.steps = append(g.steps, st.At)
		}
	}
	walk = func(c *snapshot.Condition) {
		if c == nil {
			return
		}
		switch c.Kind {
		case snapshot.CondClause:
			g.literals[c.Clause.Attribute] = append(g.literals[c.Clause.Attribute], c.Clause.Values...)
		case snapshot.CondPercentage:
			portion(&c.Portion)
		}
		for i := range c.Children {
			walk(&c.Children[i])
		}
	}
	for i := range s.Segments {
		walk(&s.Segments[i].When)
	}
	for i := range s.Flags {
		f := &s.Flags[i]
		for j := range f.Rules {
			walk(f.Rules[j].When)
			portion(&f.Rules[j].Serve.Portion)
		}
		for j := range f.Rings {
			walk(f.Rings[j].When)
			portion(&f.Rings[j].Portion)
		}
		portion(&f.Rollout.Portion)
	}
	return g
}

func (g *edgeContextGen) next() (map[string]any, int64) {
	r := g.r
	m := map[string]any{}
	at := g.base + int64(r.IntN(800)-400)*24*3600*1000 + int64(r.IntN(86_400_000))
	if len(g.steps) > 0 && r.IntN(4) == 0 {
		at = g.steps[r.IntN(len(g.steps))] + int64(r.IntN(3)-1)
	}
	for i, name := range g.attrs {
		lits := g.literals[i]
		switch p := r.IntN(10); {
		case strings.HasSuffix(name, "Id") && p < 9:
			m[name] = g.id(name)
		case p < 3:
			// absent
		case p < 8 && len(lits) > 0:
			m[name] = g.near(lits[r.IntN(len(lits))], at)
		case p < 9 && len(lits) > 0:
			n := 1 + r.IntN(3)
			l := make([]any, n)
			for k := range l {
				l[k] = g.near(lits[r.IntN(len(lits))], at)
			}
			m[name] = l
		default:
			m[name] = g.random()
		}
	}
	if r.IntN(20) == 0 {
		m["unusedAttribute"] = g.random()
	}
	return m, at
}

func (g *edgeContextGen) id(name string) string {
	switch g.r.IntN(20) {
	case 0:
		return "ünïcödé-" + strconv.Itoa(g.r.IntN(1000))
	case 1:
		return "用户-" + strconv.Itoa(g.r.IntN(1000))
	}
	return strings.TrimSuffix(name, "Id") + "-" + strconv.Itoa(g.r.IntN(10_000_000))
}

// near returns a value equal to the literal or just beside it, of the type the context
// would carry.
func (g *edgeContextGen) near(l snapshot.Literal, at int64) any {
	r := g.r
	switch l.Kind {
	case snapshot.LitString:
		switch r.IntN(6) {
		case 0:
			return strings.ToUpper(l.Str)
		case 1:
			return "x" + l.Str
		case 2:
			return l.Str + "-suffix"
		}
		return l.Str
	case snapshot.LitNumber:
		return l.Num + []float64{0, 0, 1, -1, 0.5, -0.25}[r.IntN(6)]
	case snapshot.LitBool:
		if r.IntN(4) == 0 {
			return l.Num == 0
		}
		return l.Num != 0
	case snapshot.LitTime:
		ms := int64(l.Num)
		if ms < 1e12 { // a relative offset
			ms += at
		}
		ms += int64(r.IntN(5)-2) * 24 * 3600 * 1000
		if r.IntN(2) == 0 {
			return float64(ms)
		}
		return time.UnixMilli(ms).UTC().Format(time.RFC3339)
	case snapshot.LitSemver:
		v := l.Str
		switch r.IntN(5) {
		case 0:
			return v + "-rc.1"
		case 1:
			return "v" + v
		case 2:
			if i := strings.LastIndexByte(v, '.'); i > 0 {
				n, _ := strconv.Atoi(v[i+1:])
				return v[:i+1] + strconv.Itoa(n+1)
			}
		}
		return v
	}
	return g.random()
}

func (g *edgeContextGen) random() any {
	r := g.r
	switch r.IntN(7) {
	case 0:
		return "random-" + strconv.Itoa(r.IntN(1000))
	case 1:
		return float64(r.IntN(2000) - 500)
	case 2:
		return math.Round(r.Float64()*1e6) / 1e3
	case 3:
		return r.IntN(2) == 0
	case 4:
		return "日本語"
	case 5:
		if r.IntN(3) == 0 { // long enough for a two-byte length
			return strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 1+r.IntN(8))
		}
	}
	return fmt.Sprint(r.IntN(100), ".", r.IntN(10), ".", r.IntN(10))
}
