package tests

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/wasmbuild"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// The parts of an evaluation, inside the module and natively: decoding the benchmark's
// 9-attribute binary context, one flag with its result JSON (for a context already in use,
// and right after decoding one), every example flag with and without the JSON. Side by side they give the module's slowdown under wazero for the
// same Go code, with the host's share (the call, the copies, the pool) left out.
// "request-all" is a request for every flag through the module's exports, crossings
// included, for the two attributes of a GET /evaluate:
//
//	go test ./tests -run '^$' -bench 'InModule|NativeParts' -benchmem

// benchInModuleRepeats is how many times one call repeats an operation inside the module.
const benchInModuleRepeats = 1000

// BenchmarkWasmInModule times the operations inside a module built with the
// edgeflag_bench exports; ns/op is per operation.
func BenchmarkWasmInModule(b *testing.B) {
	out := filepath.Join(b.TempDir(), "edgeflag-bench.wasm")
	if err := wasmbuild.Build(context.Background(), out, "edgeflag_bench"); err != nil {
		b.Fatal(err)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	b.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		b.Fatal(err)
	}
	var stack [4]uint64
	call := func(name string, args ...uint64) {
		copy(stack[:], args)
		if err := mod.ExportedFunction(name).CallWithStack(ctx, stack[:]); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
	}
	write := func(data []byte) {
		call("edgeflag_buffer", uint64(len(data)))
		if !mod.Memory().Write(uint32(stack[0]), data) {
			b.Fatal("input buffer outside memory")
		}
	}
	_, snap := edgeExampleSnapshot(b, "production")
	write(snap)
	call("edgeflag_load", uint64(len(snap)), 0)
	write(benchEncodedContext())
	call("edgeflag_context", uint64(len(benchEncodedContext())))
	if uint32(stack[0]) != 0 {
		b.Fatal("context refused")
	}
	at := uint64(benchAt.UnixMilli())
	write([]byte(benchFlag))
	for _, bench := range []struct {
		name   string
		export string
		args   []uint64
	}{
		{"context", "edgeflag_bench_context", []uint64{benchInModuleRepeats}},
		{"one", "edgeflag_bench_evaluate", []uint64{uint64(len(benchFlag)), at, benchInModuleRepeats}},
		{"context-and-one", "edgeflag_bench_context_evaluate", []uint64{uint64(len(benchFlag)), at, benchInModuleRepeats}},
		{"all", "edgeflag_bench_evaluate_all", []uint64{at, benchInModuleRepeats}},
		{"all-without-json", "edgeflag_bench_decide_all", []uint64{at, benchInModuleRepeats}},
	} {
		b.Run(bench.name, func(b *testing.B) {
			fn := mod.ExportedFunction(bench.export)
			n := 0
			for b.Loop() {
				copy(stack[:], bench.args)
				if err := fn.CallWithStack(ctx, stack[:]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*benchInModuleRepeats), "ns/op")
		})
	}
	// What a GET /evaluate of the edge servers costs in the module, crossings included:
	// its two calls, edgeflag_context with the request's context (a user id and a
	// country) and edgeflag_evaluate_all, which answers a results frame.
	b.Run("request-all", func(b *testing.B) {
		encoded := protocol.AppendContext(nil, evaluator.NewContext().SetString("userId", "user-42").SetString("country", "DE"))
		setContext, evaluateAll := mod.ExportedFunction("edgeflag_context"), mod.ExportedFunction("edgeflag_evaluate_all")
		call("edgeflag_buffer", uint64(len(encoded)))
		in := uint32(stack[0]) // the input buffer, which does not move while it is large enough
		for b.Loop() {
			if !mod.Memory().Write(in, encoded) {
				b.Fatal("input buffer outside memory")
			}
			stack[0] = uint64(len(encoded))
			if err := setContext.CallWithStack(ctx, stack[:]); err != nil || uint32(stack[0]) != 0 {
				b.Fatal("context refused", err)
			}
			stack[0], stack[1] = at, 0
			if err := evaluateAll.CallWithStack(ctx, stack[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNativeParts times the same operations in native Go.
func BenchmarkNativeParts(b *testing.B) {
	s, _ := edgeExampleSnapshot(b, "production")
	ev := evaluator.New(s)
	encoded := benchEncodedContext()
	ctx := evaluator.NewContext()
	var dec protocol.ContextDecoder
	if err := dec.Decode(encoded, ctx); err != nil {
		b.Fatal(err)
	}
	at := benchAt.UnixMilli()
	var out []byte
	var results []evaluator.Result
	b.Run("context", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dec.Decode(encoded, ctx)
		}
	})
	b.Run("one", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out = ev.AppendResultJSON(out[:0], benchFlag, ctx, at, false)
		}
	})
	b.Run("context-and-one", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dec.Decode(encoded, ctx)
			out = ev.AppendResultJSON(out[:0], benchFlag, ctx, at, false)
		}
	})
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out = ev.AppendAllJSON(out[:0], ctx, at, false)
		}
	})
	b.Run("all-without-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			results = ev.EvaluateAllAt(ctx, at, results[:0])
		}
	})
}

// benchEncodedContext is benchContext in the binary encoding.
func benchEncodedContext() []byte {
	ctx := evaluator.NewContext()
	edgeSetContext(ctx, benchContext)
	return protocol.AppendContext(nil, ctx)
}
