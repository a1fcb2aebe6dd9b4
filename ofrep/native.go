package ofrep

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
)

// ErrNoSnapshot is returned by EvaluateAll before any snapshot is installed.
var ErrNoSnapshot = errors.New("no snapshot loaded yet")

// Native is a Backend backed by the native Go evaluator. Install or Load a snapshot to
// start serving; a store poller calls them again on every change and SetStale when it
// cannot refresh.
type Native struct {
	cur       atomic.Pointer[nativeState]
	stale     atomic.Bool
	answerers sync.Pool // *protocol.Answerer
}

// unloaded answers for a Native source before its first snapshot.
var unloaded = evaluator.New(nil)

type nativeState struct {
	eval    *evaluator.Evaluator
	version Version
}

// NewNative returns a Native source with no snapshot: evaluations report GENERAL errors
// until the first Install or Load.
func NewNative() *Native {
	n := &Native{}
	n.answerers.New = func() any { return protocol.NewAnswerer() }
	return n
}

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
	_, v := n.state()
	return v
}

func (n *Native) state() (*evaluator.Evaluator, Version) {
	st := n.cur.Load()
	if st == nil {
		return unloaded, Version{}
	}
	v := st.version
	v.Stale = n.stale.Load()
	return st.eval, v
}

// Answer implements Backend.
func (n *Native) Answer(dst []byte, req *protocol.Request) (protocol.Response, error) {
	e, v := n.state()
	a := n.answerers.Get().(*protocol.Answerer)
	res := a.Answer(dst, e, v, req).Detach()
	n.answerers.Put(a)
	return res, nil
}

// Evaluate evaluates flag key for ctx at time at, with the version it evaluated against.
func (n *Native) Evaluate(key string, ctx *evaluator.Context, at time.Time) (evaluator.Result, Version) {
	e, v := n.state()
	return e.Evaluate(key, ctx, at), v
}

// EvaluateAll appends the results of every flag, in key order, to dst; it fails only
// before the first snapshot (ErrNoSnapshot).
func (n *Native) EvaluateAll(ctx *evaluator.Context, at time.Time, dst []evaluator.Result) ([]evaluator.Result, Version, error) {
	e, v := n.state()
	if e == unloaded {
		return dst, v, ErrNoSnapshot
	}
	return e.EvaluateAll(ctx, at, dst), v, nil
}
