package evaluator

// The JSON fast path of the edge hosts: evaluate and write the result in one step. The
// output is what Result.AppendJSON writes for the same result; the parts that depend only
// on the flag and the variant served come from the evaluator's prepared snapshot instead
// of being escaped anew for every result.

// AppendResultJSON evaluates flag key for ctx at atMillis (Unix milliseconds) and appends
// the result as Result.AppendJSON writes it. With stale set, a successful result reports
// reason STALE (see ReasonStale). It does not allocate once dst has room.
func (e *Evaluator) AppendResultJSON(dst []byte, key string, ctx *Context, atMillis int64, stale bool) []byte {
	p := e.cur.Load()
	if p == nil {
		r := errorResult(key, ErrGeneral, "no snapshot loaded")
		return r.AppendJSON(dst)
	}
	i := p.flagIndex(key)
	if i < 0 {
		r := errorResult(key, ErrFlagNotFound, "flag not found")
		return r.AppendJSON(dst)
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
		dst = st.appendFlag(dst, i, stale)
	}
	return append(dst, "]}"...)
}

func (st *state) appendFlag(dst []byte, i int, stale bool) []byte {
	var r Result
	v := st.flagInto(i, &r)
	if v < 0 {
		return r.AppendJSON(dst)
	}
	if stale {
		r.Reason = ReasonStale
	}
	return r.appendJSON(dst, st.prep.head(i, v))
}
