package edgeserver

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Backend is what a Server evaluates with: Source, the WASM module under wazero (the
// default), or NativeSource, the native evaluator, which answers the same bytes.
type Backend interface {
	ofrep.Backend
	// Load verifies an encoded snapshot and makes it the one evaluated; a snapshot that
	// fails leaves the current one in place.
	Load(data []byte) (ofrep.Version, error)
	// LoadVerified is Load for bytes whose content hash the caller has verified (the
	// poller): they are decoded without being hashed again.
	LoadVerified(data []byte) (ofrep.Version, error)
	// SetStale records whether the loaded snapshot is outdated.
	SetStale(stale bool)
	// Version returns the version of the loaded snapshot (zero before the first Load).
	Version() ofrep.Version
	// Flags returns the number of flags of the loaded snapshot.
	Flags() int
	// Results appends a results frame (protocol.ReadResults) of every flag (keys nil) or
	// of the flags keys, for ctx at time at: see Source.Results.
	Results(dst []byte, keys []string, ctx *evaluator.Context, at time.Time) ([]byte, ofrep.Version, error)
}

var (
	_ Backend = (*Source)(nil)
	_ Backend = (*NativeSource)(nil)
)

// NativeSource is a Backend on the native evaluator: the answers and results frames of
// Source, byte for byte, without the module. It reads a context the way the module does
// (encoded, then decoded with the module's limits), so that a context the module refuses
// is refused with the same error. The edge server's benchmarks measure the module against
// it, request for request.
type NativeSource struct {
	native *ofrep.Native // OFREP answers
	cur    atomic.Pointer[nativeSnapshot]
	stale  atomic.Bool
	work   sync.Pool // *nativeWork
}

// nativeSnapshot is the loaded snapshot's evaluator and version.
type nativeSnapshot struct {
	eval    *evaluator.Evaluator
	version ofrep.Version
	flags   int
}

// nativeWork is the reusable space of one Results call.
type nativeWork struct {
	encoded []byte
	ctx     *evaluator.Context
	dec     protocol.ContextDecoder
	res     protocol.ResultsBuilder
}

// longKeyMessage is the module's message for a key over protocol.MaxKeySize.
var longKeyMessage = "flag key longer than the limit of " + strconv.Itoa(protocol.MaxKeySize) + " bytes"

// NewNativeSource returns a NativeSource with no snapshot: Results returns
// ofrep.ErrNoSnapshot until the first Load.
func NewNativeSource() *NativeSource {
	s := &NativeSource{native: ofrep.NewNative()}
	s.work.New = func() any { return &nativeWork{ctx: evaluator.NewContext()} }
	return s
}

// Load verifies and decodes an encoded snapshot and makes it the one evaluated. A
// snapshot that fails leaves the current one in place.
func (s *NativeSource) Load(data []byte) (ofrep.Version, error) {
	return s.load(data, snapshot.Decode)
}

// LoadVerified is Load for bytes whose content hash the caller has verified: they are
// decoded without being hashed again.
func (s *NativeSource) LoadVerified(data []byte) (ofrep.Version, error) {
	return s.load(data, snapshot.DecodeVerified)
}

func (s *NativeSource) load(data []byte, decode func([]byte) (*snapshot.Snapshot, error)) (ofrep.Version, error) {
	if len(data) > protocol.MaxSnapshotSize {
		return ofrep.Version{}, errors.New("snapshot larger than the limit of " + strconv.Itoa(protocol.MaxSnapshotSize) + " bytes")
	}
	snap, err := decode(data)
	if err != nil {
		return ofrep.Version{}, err
	}
	hash, err := snapshot.Hash(data)
	if err != nil {
		return ofrep.Version{}, err
	}
	s.native.Install(snap, hash)
	st := &nativeSnapshot{eval: evaluator.New(snap), flags: len(snap.Flags),
		version: ofrep.Version{Snapshot: hash, Environment: snap.Environment, Revision: snap.Revision}}
	s.cur.Store(st)
	v := st.version
	v.Stale = s.stale.Load()
	return v, nil
}

// Answer implements ofrep.Backend.
func (s *NativeSource) Answer(dst []byte, req *protocol.Request) (protocol.Response, error) {
	return s.native.Answer(dst, req)
}

// SetStale records whether the loaded snapshot is outdated: OFREP answers say so, and
// successful results report reason STALE.
func (s *NativeSource) SetStale(stale bool) {
	s.stale.Store(stale)
	s.native.SetStale(stale)
}

// Version returns the version of the loaded snapshot (zero before the first Load).
func (s *NativeSource) Version() ofrep.Version {
	st := s.cur.Load()
	if st == nil {
		return ofrep.Version{}
	}
	v := st.version
	v.Stale = s.stale.Load()
	return v
}

// Flags returns the number of flags of the loaded snapshot.
func (s *NativeSource) Flags() int {
	if st := s.cur.Load(); st != nil {
		return st.flags
	}
	return 0
}

// Results is Source.Results on the native evaluator; its error is only
// ofrep.ErrNoSnapshot, before the first Load.
func (s *NativeSource) Results(dst []byte, keys []string, ctx *evaluator.Context, at time.Time) ([]byte, ofrep.Version, error) {
	st := s.cur.Load()
	if st == nil {
		return dst, ofrep.Version{}, ofrep.ErrNoSnapshot
	}
	v := st.version
	v.Stale = s.stale.Load()
	w := s.work.Get().(*nativeWork)
	defer s.work.Put(w)
	w.encoded = protocol.AppendContext(w.encoded[:0], ctx)
	var refused *evaluator.ContextError
	if err := w.dec.Decode(w.encoded, w.ctx); err != nil {
		refused = err.(*evaluator.ContextError)
	}
	ms := at.UnixMilli()
	if keys == nil {
		if refused != nil {
			return evaluator.AppendErrorJSON(dst, refused.Code, refused.Error()), v, nil
		}
		var b evaluator.Batch
		b.Begin(st.eval, w.ctx, ms, v.Stale)
		w.res.Begin(dst)
		for i := range b.Flags() {
			out, variant, ok := b.AppendJSON(w.res.Next(), i)
			w.res.Add(out, b.Key(i), variant, ok)
		}
		return w.res.Finish(), v, nil
	}
	w.res.Begin(dst)
	for _, key := range keys {
		var out []byte
		var variant string
		var ok bool
		switch {
		case len(key) > protocol.MaxKeySize:
			out = evaluator.AppendErrorResultJSON(w.res.Next(), key[:protocol.MaxKeySize], evaluator.ErrFlagNotFound, longKeyMessage)
		case refused != nil:
			out = evaluator.AppendErrorResultJSON(w.res.Next(), key, refused.Code, refused.Error())
		default:
			out, variant, ok = st.eval.AppendFlagJSON(w.res.Next(), key, w.ctx, ms, v.Stale)
		}
		w.res.Add(out, key, variant, ok)
	}
	return w.res.Finish(), v, nil
}
