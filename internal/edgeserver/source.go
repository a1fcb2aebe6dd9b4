package edgeserver

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// Source makes the WASM evaluator host an ofrep.Source: it evaluates in the module and
// reads the JSON the module returns back into evaluator.Result values, filling in what
// the JSON leaves out (the flag's type, the index of the deciding rule or ring) from the
// snapshot, so its results equal the native evaluator's (ofrep.Native) field for field
// (Bucket and Threshold only when Bucketed: the JSON carries them only then).
//
// Load snapshots through Source.Load, never on the host directly: the Source keeps the
// decoded snapshot beside the module's copy, and a lock makes every evaluation report the
// version of the snapshot it ran against (Load waits for evaluations in flight, and
// evaluations wait for a Load in flight).
//
// Staleness is the Source's, not the module's: the host is never put in stale mode, so a
// stale result keeps its real reason and Version.Stale says it is stale, as with
// ofrep.Native. The ofrep.Handler then reports it the way its Options ask.
type Source struct {
	ev    *host.Evaluator
	mu    sync.RWMutex // Load exclusive, evaluations shared
	cur   atomic.Pointer[sourceState]
	stale atomic.Bool
	bufs  sync.Pool // *[]byte: module output
}

// sourceState is the loaded snapshot, as the module reported it and decoded.
type sourceState struct {
	version ofrep.Version
	flags   int
	snap    *snapshot.Snapshot
}

// NewSource returns a Source evaluating with ev. Until the first Load, evaluations report
// a GENERAL error ("no snapshot loaded") and EvaluateAll returns ofrep.ErrNoSnapshot.
func NewSource(ev *host.Evaluator) *Source {
	s := &Source{ev: ev}
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return s
}

// Load verifies an encoded snapshot, loads it into the module and makes it the snapshot
// evaluated. A snapshot that fails (a *host.GuestError from the module, or a decoding
// error) leaves the current one in place.
func (s *Source) Load(data []byte) (ofrep.Version, error) {
	decoded, err := snapshot.Decode(data)
	if err != nil {
		return ofrep.Version{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.ev.Load(data)
	if err != nil {
		return ofrep.Version{}, err
	}
	st := &sourceState{
		version: ofrep.Version{Snapshot: info.Hash, Environment: info.Environment, Revision: info.Revision},
		flags:   info.Flags,
		snap:    decoded,
	}
	s.cur.Store(st)
	v := st.version
	v.Stale = s.stale.Load()
	return v, nil
}

// Answer implements ofrep.Backend: the OFREP request is answered in the module.
func (s *Source) Answer(dst []byte, req *protocol.Request) (protocol.Response, error) {
	req.Stale = s.stale.Load()
	return s.ev.OFREP(dst, req)
}

// SetStale records whether the loaded snapshot is outdated (the store could not be read
// within the grace period); results say so through Version.Stale.
func (s *Source) SetStale(stale bool) { s.stale.Store(stale) }

// Version returns the version of the loaded snapshot (zero before the first Load).
func (s *Source) Version() ofrep.Version {
	st := s.cur.Load()
	if st == nil {
		return ofrep.Version{}
	}
	v := st.version
	v.Stale = s.stale.Load()
	return v
}

// Flags returns the number of flags of the loaded snapshot.
func (s *Source) Flags() int {
	if st := s.cur.Load(); st != nil {
		return st.flags
	}
	return 0
}

// Evaluate implements ofrep.Source.
func (s *Source) Evaluate(key string, ctx *evaluator.Context, at time.Time) (evaluator.Result, ofrep.Version) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, v := s.state()
	return s.evaluate(st, key, ctx, at), v
}

// EvaluateAll implements ofrep.Source.
func (s *Source) EvaluateAll(ctx *evaluator.Context, at time.Time, dst []evaluator.Result) ([]evaluator.Result, ofrep.Version, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, v := s.state()
	if st == nil {
		return dst, v, ofrep.ErrNoSnapshot
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	out, err := s.ev.EvaluateAll((*bp)[:0], ctx, at)
	*bp = out
	if err != nil {
		return dst, v, err
	}
	var all struct {
		Flags        []wireResult        `json:"flags"`
		ErrorCode    evaluator.ErrorCode `json:"errorCode"`
		ErrorMessage string              `json:"errorMessage"`
	}
	if err := json.Unmarshal(out, &all); err != nil {
		return dst, v, errors.New("edgeflag module: unreadable output: " + err.Error())
	}
	if all.ErrorCode != "" {
		if all.ErrorCode == evaluator.ErrGeneral {
			return dst, v, &host.GuestError{Code: all.ErrorCode, Message: all.ErrorMessage}
		}
		// The context is not one the module accepts (over a limit of package wire): the
		// client's to fix, which the OFREP handler answers with 400, as it does a context
		// it refuses itself.
		return dst, v, &protocol.Error{Code: all.ErrorCode, Details: all.ErrorMessage}
	}
	for i := range all.Flags {
		r, err := all.Flags[i].result(st.snap)
		if err != nil {
			return dst, v, err
		}
		dst = append(dst, r)
	}
	return dst, v, nil
}

// evaluateKeys evaluates each of keys against one snapshot and appends the results.
func (s *Source) evaluateKeys(keys []string, ctx *evaluator.Context, at time.Time, dst []evaluator.Result) ([]evaluator.Result, ofrep.Version) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, v := s.state()
	for _, k := range keys {
		dst = append(dst, s.evaluate(st, k, ctx, at))
	}
	return dst, v
}

// state returns the loaded snapshot and its version; the caller holds mu.
func (s *Source) state() (*sourceState, ofrep.Version) {
	st := s.cur.Load()
	if st == nil {
		return nil, ofrep.Version{}
	}
	v := st.version
	v.Stale = s.stale.Load()
	return st, v
}

func (s *Source) evaluate(st *sourceState, key string, ctx *evaluator.Context, at time.Time) evaluator.Result {
	if st == nil {
		return errorResult(key, evaluator.ErrGeneral, "no snapshot loaded")
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	out, err := s.ev.Evaluate((*bp)[:0], key, ctx, at)
	*bp = out
	if err != nil {
		return errorResult(key, evaluator.ErrGeneral, err.Error())
	}
	var w wireResult
	if err := json.Unmarshal(out, &w); err != nil {
		return errorResult(key, evaluator.ErrGeneral, "edgeflag module: unreadable output: "+err.Error())
	}
	r, err := w.result(st.snap)
	if err != nil {
		return errorResult(key, evaluator.ErrGeneral, err.Error())
	}
	// The module shortens keys over its limit in what it reports; answer for the key asked.
	r.Key = key
	return r
}

func errorResult(key string, code evaluator.ErrorCode, msg string) evaluator.Result {
	return evaluator.Result{Key: key, Reason: evaluator.ReasonError, Error: code, Message: msg,
		Decision: evaluator.Decision{Index: -1, Step: -1}}
}

// wireResult is one result as evaluator.Result.AppendJSON writes it (wasm/guest).
type wireResult struct {
	Key          string              `json:"key"`
	Value        json.RawMessage     `json:"value"`
	Variant      string              `json:"variant"`
	Reason       evaluator.Reason    `json:"reason"`
	ErrorCode    evaluator.ErrorCode `json:"errorCode"`
	ErrorMessage string              `json:"errorMessage"`
	Decision     struct {
		Kind      string  `json:"kind"`
		Name      string  `json:"name"`
		Segment   string  `json:"segment"`
		Step      *int    `json:"step"`
		Bucket    *uint32 `json:"bucket"`
		Threshold *uint32 `json:"threshold"`
	} `json:"decision"`
}

// decisionKinds maps the names AppendJSON writes back to kinds.
var decisionKinds = func() map[string]evaluator.DecisionKind {
	m := map[string]evaluator.DecisionKind{}
	for k := evaluator.DecidedByError; k.String() != "unknown"; k++ {
		m[k.String()] = k
	}
	return m
}()

// result converts w, completing it from snap (which may be nil): the flag's type, and
// the index of the rule or ring that decided.
func (w *wireResult) result(snap *snapshot.Snapshot) (evaluator.Result, error) {
	r := evaluator.Result{Key: w.Key, Reason: w.Reason, Decision: evaluator.Decision{Index: -1, Step: -1}}
	var f *snapshot.Flag
	if snap != nil {
		if i := snap.FlagIndex(w.Key); i >= 0 {
			f = &snap.Flags[i]
			r.Type = f.Type
		}
	}
	if w.Reason == evaluator.ReasonError {
		r.Error, r.Message = w.ErrorCode, w.ErrorMessage
		return r, nil
	}
	kind, ok := decisionKinds[w.Decision.Kind]
	if !ok || len(w.Value) == 0 {
		return r, errors.New("edgeflag module: unreadable result for flag " + w.Key)
	}
	r.Value, r.Variant = string(w.Value), w.Variant
	r.Kind, r.Name, r.Segment = kind, w.Decision.Name, w.Decision.Segment
	if w.Decision.Step != nil {
		r.Step = *w.Decision.Step
	}
	if w.Decision.Bucket != nil && w.Decision.Threshold != nil {
		r.Bucketed, r.Bucket, r.Threshold = true, *w.Decision.Bucket, *w.Decision.Threshold
	}
	if f != nil {
		switch kind {
		case evaluator.DecidedByRule:
			for j := range f.Rules {
				if f.Rules[j].Name == r.Name {
					r.Index = j
					break
				}
			}
		case evaluator.DecidedByRing:
			for j := range f.Rings {
				if f.Rings[j].Name == r.Name {
					r.Index = j
					break
				}
			}
		}
	}
	return r, nil
}
