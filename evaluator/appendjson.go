package evaluator

// The JSON fast path of the edge hosts: evaluate and write the result in one step. The
// output is what Result.AppendJSON writes for the same result; the parts that depend only
// on the flag and the variant served come from the evaluator's prepared snapshot instead
// of being escaped anew for every result.

// AppendResultJSON evaluates flag key for ctx at atMillis (Unix milliseconds) and appends
// the result as Result.AppendJSON writes it. With stale set, a successful result reports
// reason STALE (see ReasonStale). It does not allocate once dst has room.
func (e *Evaluator) AppendResultJSON(dst []byte, key string, ctx *Context, atMillis int64, stale bool) []byte {
	dst, _, _ = e.AppendFlagJSON(dst, key, ctx, atMillis, stale)
	return dst
}

// AppendFlagJSON is AppendResultJSON that also returns the variant served and whether
// the result is one (ok is false for an error result, whose variant is empty): what a
// host needs besides the JSON, for example to set x-flag-<key>: <variant> headers,
// without reading the JSON again.
func (e *Evaluator) AppendFlagJSON(dst []byte, key string, ctx *Context, atMillis int64, stale bool) (out []byte, variant string, ok bool) {
	p := e.cur.Load()
	if p == nil {
		return AppendErrorResultJSON(dst, key, ErrGeneral, "no snapshot loaded"), "", false
	}
	i := p.flagIndex(key)
	if i < 0 {
		return AppendErrorResultJSON(dst, key, ErrFlagNotFound, "flag not found"), "", false
	}
	st := state{snap: p.snap, prep: p, ctx: ctx, at: atMillis}
	ctx.bind(p.snap)
	return st.appendFlag(dst, i, stale)
}

// AppendAllJSON evaluates every flag, in key order, and appends {"flags":[...]} with the
// results as AppendResultJSON writes them; without a snapshot it appends the error object
// of AppendErrorJSON (GENERAL).
func (e *Evaluator) AppendAllJSON(dst []byte, ctx *Context, atMillis int64, stale bool) []byte {
	p := e.cur.Load()
	if p == nil {
		return AppendErrorJSON(dst, ErrGeneral, "no snapshot loaded")
	}
	st := state{snap: p.snap, prep: p, ctx: ctx, at: atMillis}
	ctx.bind(p.snap)
	dst = append(dst, `{"flags":[`...)
	for i := range p.snap.Flags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst, _, _ = st.appendFlag(dst, i, stale)
	}
	return append(dst, "]}"...)
}

// AppendErrorResultJSON appends the error result of flag key (reason ERROR, code and
// message) as Result.AppendJSON writes it.
func AppendErrorResultJSON(dst []byte, key string, code ErrorCode, message string) []byte {
	r := errorResult(key, code, message)
	return r.AppendJSON(dst)
}

func (st *state) appendFlag(dst []byte, i int, stale bool) ([]byte, string, bool) {
	var r Result
	v := st.flagInto(i, &r)
	if v < 0 {
		return r.AppendJSON(dst), "", false
	}
	if stale {
		r.Reason = ReasonStale
	}
	return r.appendJSON(dst, st.prep.head(i, v)), r.Variant, true
}
