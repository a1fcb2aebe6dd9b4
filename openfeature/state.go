package openfeature

import (
	"context"
	"errors"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Update is one report of a snapshot source, for Follow. The fields are read in this
// order: Stale (with Err as the cause, if any), Err, Data, Snapshot; an empty Update says
// the source checked and the snapshot served is current.
type Update struct {
	Stale    bool               // the source cannot refresh: the snapshot served is outdated
	Err      error              // the source failed (a fetch, a snapshot that does not verify)
	Data     []byte             // an encoded snapshot to verify, decode and serve
	Snapshot *snapshot.Snapshot // or a decoded snapshot to serve, with its content hash
	Hash     string
}

// InitWithContext implements of.ContextAwareStateHandler: it waits for the first snapshot,
// until ctx ends or Options.InitTimeout passes. On a timeout the provider is in ERROR and
// sends PROVIDER_READY when the first snapshot arrives.
func (p *Provider) InitWithContext(ctx context.Context, _ of.EvaluationContext) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.InitTimeout)
	defer cancel()
	select {
	case <-p.ready:
		p.mu.Lock()
		p.live = true
		p.mu.Unlock()
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = true
	if p.cur.Load() != nil { // the first snapshot arrived just now
		return nil
	}
	p.initFailed = true
	p.status = of.ErrorState
	msg := "no snapshot yet"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg += " after " + p.opts.InitTimeout.String()
	}
	if p.lastErr != "" {
		msg += "; last error: " + p.lastErr
	}
	return &of.ProviderInitError{ErrorCode: of.GeneralCode, Message: msg}
}

// Init implements of.StateHandler (InitWithContext with a background context).
func (p *Provider) Init(evalCtx of.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// ShutdownWithContext implements of.ContextAwareStateHandler: it stops Follow. The
// provider keeps its snapshot and can still evaluate.
func (p *Provider) ShutdownWithContext(context.Context) error {
	p.shutOnce.Do(func() { close(p.done) })
	return nil
}

// Shutdown implements of.StateHandler.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// EventChannel implements of.EventHandler.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// State returns the provider's own view of its state: NOT_READY, READY, STALE or ERROR.
func (p *Provider) State() of.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Snapshot returns the snapshot served and its content hash (nil before the first).
func (p *Provider) Snapshot() (*snapshot.Snapshot, string) {
	st := p.cur.Load()
	if st == nil {
		return nil, ""
	}
	return st.snap, st.hash
}

// Load verifies and decodes an encoded snapshot and serves it (see Swap). A snapshot that
// fails is reported with Fail and the current one stays in place.
func (p *Provider) Load(data []byte) error {
	return p.load(data, snapshot.Decode)
}

// LoadVerified is Load for a snapshot whose content hash the caller has verified — what a
// poller.Poller hands its Apply — which is decoded without hashing it again
// (snapshot.DecodeVerified).
func (p *Provider) LoadVerified(data []byte) error {
	return p.load(data, snapshot.DecodeVerified)
}

func (p *Provider) load(data []byte, decode func([]byte) (*snapshot.Snapshot, error)) error {
	s, err := decode(data)
	if err != nil {
		p.Fail(err)
		return err
	}
	hash, err := snapshot.Hash(data)
	if err != nil {
		p.Fail(err)
		return err
	}
	p.Swap(s, hash)
	return nil
}

// Swap serves s, whose content hash is hash; s must come from snapshot.Decode or the
// compiler and must not be modified afterwards. The first snapshot makes the provider
// ready. A later one with another hash sends PROVIDER_CONFIGURATION_CHANGED naming the
// flags whose definition changed (directly, or through a segment or a prerequisite), and
// PROVIDER_READY first if the provider was STALE or in ERROR.
func (p *Provider) Swap(s *snapshot.Snapshot, hash string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == nil {
		p.failLocked(errors.New("openfeature: Swap called with a nil snapshot"))
		return
	}
	next := &loaded{eval: evaluator.New(s), snap: s, hash: hash, prints: fingerprints(s)}
	prev := p.cur.Swap(next)
	p.stale.Store(false)
	p.lastErr = ""
	if prev == nil {
		close(p.ready)
		p.status = of.ReadyState
		if p.initFailed {
			p.emit(of.ProviderReady, "first snapshot "+short(hash)+" loaded", nil, nil)
		}
		return
	}
	if p.status != of.ReadyState {
		p.status = of.ReadyState
		p.emit(of.ProviderReady, "serving a current snapshot again", nil, nil)
	}
	if prev.hash == hash {
		return
	}
	p.emit(of.ProviderConfigChange, "snapshot "+short(prev.hash)+" replaced by "+short(hash),
		changedFlags(prev.prints, next.prints),
		map[string]any{"snapshot": hash, "previousSnapshot": prev.hash, "revision": s.Revision, "environment": s.Environment})
}

// MarkStale reports that the source cannot refresh the snapshot (cause, when not nil,
// says why). The provider keeps serving it, sends PROVIDER_STALE, and evaluations report
// reason STALE until the next Fresh or Swap. Before the first snapshot it is a Fail.
func (p *Provider) MarkStale(cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur.Load() == nil {
		p.failLocked(cause)
		return
	}
	p.stale.Store(true)
	if p.status == of.StaleState {
		return
	}
	p.status = of.StaleState
	msg := "snapshot " + short(p.cur.Load().hash) + " may be outdated"
	if cause != nil {
		msg += ": " + cause.Error()
	}
	p.emit(of.ProviderStale, msg, nil, nil)
}

// Fail reports a failure of the source. The provider sends PROVIDER_ERROR and keeps
// serving the last good snapshot, if any.
func (p *Provider) Fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failLocked(err)
}

func (p *Provider) failLocked(err error) {
	msg := "snapshot source failed"
	if err != nil {
		msg = err.Error()
	}
	p.lastErr = msg
	if !p.live {
		return // Init's result reports it
	}
	p.status = of.ErrorState
	p.emit(of.ProviderError, msg, nil, nil)
}

// Fresh reports that the source checked and the snapshot served is current: after STALE
// or ERROR the provider sends PROVIDER_READY.
func (p *Provider) Fresh() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur.Load() == nil || p.status == of.ReadyState {
		return
	}
	p.stale.Store(false)
	p.status = of.ReadyState
	p.emit(of.ProviderReady, "snapshot "+short(p.cur.Load().hash)+" is current", nil, nil)
}

// Apply applies one Update.
func (p *Provider) Apply(u Update) {
	switch {
	case u.Stale:
		p.MarkStale(u.Err)
	case u.Err != nil:
		p.Fail(u.Err)
	case u.Data != nil:
		_ = p.Load(u.Data) // a failure is reported by Load
	case u.Snapshot != nil:
		p.Swap(u.Snapshot, u.Hash)
	default:
		p.Fresh()
	}
}

// Follow applies the updates received on updates until the channel is closed, ctx ends
// or the provider is shut down. Run it in its own goroutine.
func (p *Provider) Follow(ctx context.Context, updates <-chan Update) {
	for {
		select {
		case u, ok := <-updates:
			if !ok {
				return
			}
			p.Apply(u)
		case <-ctx.Done():
			return
		case <-p.done:
			return
		}
	}
}

// emit sends an event if the SDK is listening (Init has returned); it never blocks.
func (p *Provider) emit(t of.EventType, msg string, changes []string, meta map[string]any) {
	if !p.live {
		return
	}
	ev := of.Event{ProviderName: p.opts.Name, EventType: t, ProviderEventDetails: of.ProviderEventDetails{
		Message: msg, FlagChanges: changes, EventMetadata: meta}}
	if t == of.ProviderError {
		ev.ErrorCode = of.GeneralCode
	}
	select {
	case p.events <- ev:
	default:
	}
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
