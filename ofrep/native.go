package ofrep

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// ErrNoSnapshot is returned by EvaluateAll before any snapshot is installed.
var ErrNoSnapshot = errors.New("no snapshot loaded yet")

// Native is a Source backed by the native Go evaluator. Install or Load a snapshot to
// start serving; a store poller calls them again on every change and SetStale when it
// cannot refresh.
type Native struct {
	cur   atomic.Pointer[nativeState]
	stale atomic.Bool
}

// unloaded answers for a Native source before its first snapshot.
var unloaded = evaluator.New(nil)

type nativeState struct {
	eval    *evaluator.Evaluator
	version Version
}

// NewNative returns a Native source with no snapshot: evaluations report GENERAL errors
// until the first Install or Load.
func NewNative() *Native { return &Native{} }

// Load verifies and decodes an encoded snapshot and installs it. A snapshot that fails
// leaves the current one in place.
func (n *Native) Load(data []byte) (Version, error) {
	s, err := snapshot.Decode(data)
	if err != nil {
		return Version{}, err
	}
	hash, err := snapshot.Hash(data)
	if err != nil {
		return Version{}, err
	}
	n.Install(s, hash)
	return n.Version(), nil
}

// Install makes s, whose content hash is hash, the snapshot evaluated. s must come from
// snapshot.Decode or the compiler and must not be modified afterwards.
func (n *Native) Install(s *snapshot.Snapshot, hash string) {
	n.cur.Store(&nativeState{
		eval:    evaluator.New(s),
		version: Version{Snapshot: hash, Environment: s.Environment, Revision: s.Revision},
	})
}

// SetStale records whether the installed snapshot is outdated; responses say so in their
// metadata.
func (n *Native) SetStale(stale bool) { n.stale.Store(stale) }

// Version returns the version of the installed snapshot.
func (n *Native) Version() Version {
	st := n.cur.Load()
	if st == nil {
		return Version{}
	}
	v := st.version
	v.Stale = n.stale.Load()
	return v
}

// Evaluate implements Source.
func (n *Native) Evaluate(key string, ctx *evaluator.Context, at time.Time) (evaluator.Result, Version) {
	st := n.cur.Load()
	if st == nil {
		return unloaded.Evaluate(key, ctx, at), Version{}
	}
	v := st.version
	v.Stale = n.stale.Load()
	return st.eval.Evaluate(key, ctx, at), v
}

// EvaluateAll implements Source.
func (n *Native) EvaluateAll(ctx *evaluator.Context, at time.Time, dst []evaluator.Result) ([]evaluator.Result, Version, error) {
	st := n.cur.Load()
	if st == nil {
		return dst, Version{}, ErrNoSnapshot
	}
	v := st.version
	v.Stale = n.stale.Load()
	return st.eval.EvaluateAll(ctx, at, dst), v, nil
}
