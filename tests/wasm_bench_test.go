package tests

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// The benchmarks of docs/benchmarks.md for the module: one flag and every example
// flag per call, natively, under wazero, in Node.js and in workerd.
//
//	go test ./tests -run '^$' -bench 'Wasm|Native' -benchmem

var benchContext = map[string]any{
	"userId": "user-1234", "accountId": "account-77", "country": "DE", "plan": "pro",
	"email": "ada@example.com", "accountAgeDays": 400.0, "appVersion": "2.4.1", "platform": "ios",
	"groups": []any{"beta-testers"},
}

// benchFlag is an example flag with rules, segments and a rollout.
const benchFlag = "new-checkout-flow"

var benchAt = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func BenchmarkNativeEvaluate(b *testing.B) {
	s, _ := edgeExampleSnapshot(b, "production")
	ev := evaluator.New(s)
	ctx := evaluator.NewContext()
	edgeSetContext(ctx, benchContext)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		r := ev.Evaluate(benchFlag, ctx, benchAt)
		buf = r.AppendJSON(buf[:0])
	}
}

func BenchmarkNativeEvaluateAll(b *testing.B) {
	s, _ := edgeExampleSnapshot(b, "production")
	ev := evaluator.New(s)
	ctx := evaluator.NewContext()
	edgeSetContext(ctx, benchContext)
	var buf []byte
	var rs []evaluator.Result
	b.ReportAllocs()
	for b.Loop() {
		rs = ev.EvaluateAll(ctx, benchAt, rs[:0])
		buf = buf[:0]
		for i := range rs {
			buf = rs[i].AppendJSON(buf)
		}
	}
}

func benchWazero(b *testing.B) (*host.Evaluator, *evaluator.Context) {
	b.Helper()
	_, data := edgeExampleSnapshot(b, "production")
	wasm, err := os.ReadFile(edgeWasm(b))
	if err != nil {
		b.Fatal(err)
	}
	e, err := host.New(context.Background(), wasm, host.Config{Instances: 1, CacheDir: filepath.Join(edgeRoot(b), ".cache/wazero")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(context.Background()) })
	if _, err := e.Load(data); err != nil {
		b.Fatal(err)
	}
	ctx := evaluator.NewContext()
	edgeSetContext(ctx, benchContext)
	return e, ctx
}

// BenchmarkWasmEvaluate is one flag per call under wazero, context encoding and result
// JSON included.
func BenchmarkWasmEvaluate(b *testing.B) {
	e, ctx := benchWazero(b)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Evaluate(buf[:0], benchFlag, ctx, benchAt)
	}
}

// BenchmarkWasmEvaluateFlags is ten flags (new-checkout-flow ten times) for one context
// per call under wazero: the context crosses into the module once, so ns/flag is the
// cost of one more flag for a request.
func BenchmarkWasmEvaluateFlags(b *testing.B) {
	e, ctx := benchWazero(b)
	buf := make([]byte, 0, 8192)
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = benchFlag
	}
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.EvaluateFlags(buf[:0], keys, ctx, benchAt)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/flag")
}

// BenchmarkWasmEvaluateAll is every example flag per call under wazero.
func BenchmarkWasmEvaluateAll(b *testing.B) {
	e, ctx := benchWazero(b)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.EvaluateAll(buf[:0], ctx, benchAt)
	}
}

// benchJS runs n evaluations in a JavaScript runtime through call and reports the time
// per evaluation (the one round trip to the process is included, amortized over b.N):
// one flag and every flag through evaluateJSON and evaluateAllJSON, then the same two as
// OFREP requests (single and bulk) answered in the module.
func benchJS(b *testing.B, call func(req map[string]any)) {
	for _, tt := range []struct {
		name  string
		key   any
		ofrep bool
	}{{"one", benchFlag, false}, {"all", nil, false}, {"ofrep-one", benchFlag, true}, {"ofrep-bulk", nil, true}} {
		b.Run(tt.name, func(b *testing.B) {
			call(map[string]any{"op": "bench", "n": 1000, "key": tt.key, "context": benchContext, "at": benchAt.UnixMilli(), "ofrep": tt.ofrep}) // warm up
			b.ResetTimer()
			call(map[string]any{"op": "bench", "n": b.N, "key": tt.key, "context": benchContext, "at": benchAt.UnixMilli(), "ofrep": tt.ofrep})
		})
	}
}

// BenchmarkWasmNode is the module in Node.js, as on Lambda@Edge.
func BenchmarkWasmNode(b *testing.B) {
	_, data := edgeExampleSnapshot(b, "production")
	node := edgeStartNode(b, "testdata/edge/node-harness.mjs", "EDGEFLAG_WASM="+edgeWasm(b))
	var out map[string]any
	node.call(b, map[string]any{"op": "load", "snapshot": base64.StdEncoding.EncodeToString(data)}, &out)
	benchJS(b, func(req map[string]any) { node.call(b, req, &out) })
}

// BenchmarkWasmWorkerd is the module in workerd (wasm binding and the Worker's WASI shim).
func BenchmarkWasmWorkerd(b *testing.B) {
	_, data := edgeExampleSnapshot(b, "production")
	base := edgeWorkerd(b, "tests/harness/harness.capnp", nil, edgeHarnessFiles(b))
	var out map[string]any
	edgePost(b, base+"/load", bytes.NewReader(data), &out)
	benchJS(b, func(req map[string]any) {
		body, _ := json.Marshal(req)
		edgePost(b, base+"/bench", bytes.NewReader(body), &out)
	})
}
