//go:build wasip1

package main

// The resolve path (protocol/resolve.go): edgeflag_flags tells the host what each flag
// reads; edgeflag_resolve evaluates one flag by index for a context of only those
// attributes and answers in its return value.

import (
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
)

// resolveCtx and resolveDec are edgeflag_resolve's, apart from the context edgeflag_context
// sets (and the decoder space its lists share), which later edgeflag_evaluate calls still
// use.
var (
	resolveCtx = evaluator.NewContext()
	resolveDec protocol.ContextDecoder
)

// flags answers the flags frame of the snapshot loaded (no flags before a load).
//
//go:wasmexport edgeflag_flags
func flags() uint64 {
	s := m.eval.Snapshot() // decoded, so checked: AppendFlagsFrame does not panic on it
	if s == nil {
		m.out = append(m.out[:0], 0, 0)
		return m.output()
	}
	m.out = protocol.AppendFlagsFrame(m.out[:0], s)
	return m.output()
}

// resolve evaluates flag index for the indexed context in the first n bytes of the input
// buffer at atMillis, and returns protocol.Resolved(variant, reason), or 0 for anything
// else (an error result, a refused context), which the host answers by the results-frame
// path.
//
//go:wasmexport edgeflag_resolve
func resolve(index, n uint32, atMillis float64) (code uint32) {
	defer func() {
		if recover() != nil {
			code = 0
		}
	}()
	s := m.eval.Snapshot()
	if s == nil || int(n) > len(m.in) || resolveDec.DecodeIndexed(m.in[:n], s, resolveCtx) != nil {
		return 0
	}
	if v, reason := m.eval.VariantAt(s, int(index), resolveCtx, int64(atMillis)); v >= 0 {
		return protocol.Resolved(v, reason)
	}
	return 0
}
