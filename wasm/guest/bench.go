//go:build wasip1 && edgeflag_bench

package main

// Exports that time the module's own work: each repeats an operation n times inside the
// module, so a host that times one call and divides by n measures the module without
// the cost of crossing into it. They exist only in a module built with
// -tags edgeflag_bench (see BenchmarkWasmInModule in package tests), never in the
// module that edges run.

import "github.com/edgeflag/edgeflag/evaluator"

var benchResults []evaluator.Result

// benchContext decodes the current context n times (set it first with edgeflag_context).
//
//go:wasmexport edgeflag_bench_context
func benchContext(n uint32) {
	for range n {
		m.dec.Decode(m.ctxData, m.ctx)
	}
}

// benchEvaluate evaluates one flag, whose key is the first keyLen bytes of the input
// buffer, n times with its result JSON, for a context whose attributes are already looked
// up.
//
//go:wasmexport edgeflag_bench_evaluate
func benchEvaluate(keyLen uint32, at int64, n uint32) {
	key := string(m.in[:keyLen])
	for range n {
		m.out = m.eval.AppendResultJSON(m.out[:0], key, m.ctx, at, false)
	}
}

// benchContextEvaluate decodes the current context and evaluates one flag for it, n times:
// what a request with one flag costs inside the module, attribute lookups included.
//
//go:wasmexport edgeflag_bench_context_evaluate
func benchContextEvaluate(keyLen uint32, at int64, n uint32) {
	key := string(m.in[:keyLen])
	for range n {
		m.dec.Decode(m.ctxData, m.ctx)
		m.out = m.eval.AppendResultJSON(m.out[:0], key, m.ctx, at, false)
	}
}

// benchEvaluateAll evaluates every flag n times with the results' JSON.
//
//go:wasmexport edgeflag_bench_evaluate_all
func benchEvaluateAll(at int64, n uint32) {
	for range n {
		m.out = m.eval.AppendAllJSON(m.out[:0], m.ctx, at, false)
	}
}

// benchDecideAll evaluates every flag n times without writing JSON.
//
//go:wasmexport edgeflag_bench_decide_all
func benchDecideAll(at int64, n uint32) {
	for range n {
		benchResults = m.eval.EvaluateAllAt(m.ctx, at, benchResults[:0])
	}
}

// benchResolve runs edgeflag_resolve n times for the indexed context in the first size
// bytes of the input buffer.
//
//go:wasmexport edgeflag_bench_resolve
func benchResolve(index, size uint32, atMillis float64, n uint32) (code uint32) {
	for range n {
		code = resolve(index, size, atMillis)
	}
	return code
}

// benchDecodeIndexed decodes the indexed context in the first size bytes of the input
// buffer n times.
//
//go:wasmexport edgeflag_bench_decode_indexed
func benchDecodeIndexed(size, n uint32) {
	s := m.eval.Snapshot()
	for range n {
		resolveDec.DecodeIndexed(m.in[:size], s, resolveCtx)
	}
}
