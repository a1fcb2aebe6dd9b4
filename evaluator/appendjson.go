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
	var b Batch
	if !b.Begin(e, ctx, atMillis, stale) {
		return AppendErrorResultJSON(dst, key, ErrGeneral, "no snapshot loaded"), "", false
	}
	i := b.st.prep.flagIndex(key)
	if i < 0 {
		return AppendErrorResultJSON(dst, key, ErrFlagNotFound, "flag not found"), "", false
	}
	return b.AppendJSON(dst, i)
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
	var r Result
	dst = append(dst, `{"flags":[`...)
	for i := range p.snap.Flags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst, _, _ = st.appendFlag(dst, i, stale, &r)
	}
	return append(dst, "]}"...)
}

// Batch evaluates the flags of one snapshot, by position, for one context at one time:
// the path of a host that evaluates many flags per context (the WASM module's
// edgeflag_evaluate_all). The snapshot and the context are bound once, by Begin, instead
// of once per flag, and no flag is looked up by its key. A Batch must not outlive its
// context's next change.
type Batch struct {
	st    state
	stale bool
	res   Result // decided into for each flag
}

// Begin starts evaluations of the flags of e's snapshot for ctx at atMillis (Unix
// milliseconds); with stale set, successful results report reason STALE. It reports
// false when no snapshot is loaded.
func (b *Batch) Begin(e *Evaluator, ctx *Context, atMillis int64, stale bool) bool {
	p := e.cur.Load()
	if p == nil {
		return false
	}
	ctx.bind(p.snap)
	// Field by field: a composite literal would zero the whole state first (see
	// Result.clearDecided).
	b.st.snap, b.st.prep, b.st.ctx, b.st.at, b.st.trace = p.snap, p, ctx, atMillis, nil
	b.stale = stale
	return true
}

// Flags returns the number of flags of the Batch's snapshot, which are in key order.
func (b *Batch) Flags() int { return len(b.st.snap.Flags) }

// Key returns the key of flag i.
func (b *Batch) Key(i int) string { return b.st.snap.Flags[i].Key }

// AppendJSON evaluates flag i and appends its result as AppendFlagJSON does, with the
// same variant and ok.
func (b *Batch) AppendJSON(dst []byte, i int) (out []byte, variant string, ok bool) {
	return b.st.appendFlag(dst, i, b.stale, &b.res)
}

// AppendErrorResultJSON appends the error result of flag key (reason ERROR, code and
// message) as Result.AppendJSON writes it.
func AppendErrorResultJSON(dst []byte, key string, code ErrorCode, message string) []byte {
	return appendErrorResult(dst, key, code, message)
}

// appendFlag evaluates flag i and appends its result's JSON. The parts that do not depend
// on the context come from the prepared snapshot: the whole result of a flag that no
// context can change, else its head, the reason and decision kind in one piece, and the
// deciding rule's or ring's name.
// r is space to decide in, reused from flag to flag.
func (st *state) appendFlag(dst []byte, i int, stale bool, r *Result) ([]byte, string, bool) {
	pf, f := &st.prep.flags[i], &st.snap.Flags[i]
	if pf.fixed != "" {
		if stale {
			return append(dst, pf.fixedStale...), pf.fixedVariant, true
		}
		return append(dst, pf.fixed...), pf.fixedVariant, true
	}
	r.clearDecided()
	v := st.decide(f, r)
	if v < 0 {
		return appendErrorResult(dst, f.Key, r.Error, r.Message), "", false
	}
	dst = append(dst, st.prep.heads[int(pf.first)+v]...)
	reason := len(reasons) - 1 // STALE
	if !stale {
		reason = decidedReasonIndex(r.Reason)
	}
	dst = append(dst, reasonDecisionJSON[reason][r.Kind]...)
	switch r.Kind {
	case DecidedByRule:
		dst, r.Name = append(dst, pf.names[r.Index]...), ""
	case DecidedByRing:
		dst, r.Name = append(dst, pf.names[len(f.Rules)+r.Index]...), ""
	}
	return r.appendTail(dst), f.Variants[v].Name, true
}
