package edgeserver

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// Source makes the WASM evaluator host an ofrep.Backend, and evaluates the flags of GET
// /evaluate: OFREP requests are answered in the module (Answer), and Results hands back
// the module's results frame, whose JSON goes out as it is — the host reads no JSON.
//
// Load snapshots through Source.Load, never on the host directly: a lock makes every
// evaluation report the version of the snapshot it ran against (Load waits for
// evaluations in flight, and evaluations wait for a Load in flight). The snapshot is
// verified once — by the poller, which hands the Server verified bytes (LoadVerified), or
// in the module (Load) — and decoded once per instance, in the module.
//
// Staleness is the Source's, not the host's: the host is never put in stale mode. OFREP
// answers keep their real reasons and say they are stale, as ofrep.Native's do; Results
// asks the module for reason STALE.
type Source struct {
	ev    *host.Evaluator
	mu    sync.RWMutex // Load exclusive, evaluations shared
	cur   atomic.Pointer[sourceState]
	stale atomic.Bool
}

// sourceState is the loaded snapshot, as the module reported it.
type sourceState struct {
	version ofrep.Version
	flags   int
}

// NewSource returns a Source evaluating with ev. Until the first Load, Results returns
// ofrep.ErrNoSnapshot.
func NewSource(ev *host.Evaluator) *Source {
	return &Source{ev: ev}
}

// Load verifies an encoded snapshot, loads it into the module and makes it the snapshot
// evaluated. A snapshot that fails (a *host.GuestError from the module) leaves the
// current one in place.
func (s *Source) Load(data []byte) (ofrep.Version, error) {
	return s.load(data, s.ev.Load)
}

// LoadVerified is Load for bytes whose content hash the caller has verified (the poller's
// Apply): the module does not hash them again (host.Evaluator.LoadVerified).
func (s *Source) LoadVerified(data []byte) (ofrep.Version, error) {
	return s.load(data, s.ev.LoadVerified)
}

func (s *Source) load(data []byte, load func([]byte) (host.SnapshotInfo, error)) (ofrep.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := load(data)
	if err != nil {
		return ofrep.Version{}, err
	}
	st := &sourceState{
		version: ofrep.Version{Snapshot: info.Hash, Environment: info.Environment, Revision: info.Revision},
		flags:   info.Flags,
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

// Results evaluates every flag (keys nil) or the flags keys, in that order, for ctx at
// time at, and appends the module's results frame to dst (protocol.ReadResults: the
// results' JSON, and each result's key and variant) with the version of the snapshot it
// ran against. While the snapshot is stale, successful results report reason STALE. The
// error is ofrep.ErrNoSnapshot before the first Load, or the module's failure to run.
func (s *Source) Results(dst []byte, keys []string, ctx *evaluator.Context, at time.Time) ([]byte, ofrep.Version, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.cur.Load()
	if st == nil {
		return dst, ofrep.Version{}, ofrep.ErrNoSnapshot
	}
	v := st.version
	v.Stale = s.stale.Load()
	out, err := s.ev.Results(dst, keys, ctx, at, v.Stale)
	return out, v, err
}
