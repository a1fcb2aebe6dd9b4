// Package poller keeps an edge host's snapshot current. It polls the store's pointer
// (<base>/<env>/current.json) with If-None-Match at a fixed interval, fetches the snapshot
// the pointer names (<base>/snapshots/<hash>.snap) when it changes, checks that the bytes
// hash to that name, and hands them to the host to swap in. Whatever fails (the store is
// unreachable, the pointer is malformed, the snapshot is corrupt, the host rejects it),
// the host keeps its last good snapshot; when no poll has succeeded for longer than the
// grace period, the poller reports the host as stale, and hosts then answer with reason
// STALE. See docs/store-layout.md for the objects it reads.
//
// With Config.Keys the pointer must also be signed (package signing) for the poller's
// environment by one of the keys, and must not be older than the pointer served: a
// tampered, cross-environment or replayed pointer is refused the same way.
//
// With Config.StateDir the poller keeps the pointer it serves and its snapshot on disk,
// and Run starts from them (Restore): a restarted edge answers at once, even while the
// store is unreachable, and with Keys it still refuses a pointer older than the one it
// served before the restart.
package poller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store/layout"
)

// Defaults of Config.
const (
	DefaultInterval = 5 * time.Second
	DefaultGrace    = 60 * time.Second
	DefaultTimeout  = 5 * time.Second
	// MaxSnapshotSize is the largest snapshot the poller downloads.
	MaxSnapshotSize = snapshot.MaxSize
)

// Pointer is the store's <env>/current.json: which snapshot an environment serves (the
// store layout's, package store/layout).
type Pointer = layout.Pointer

// ErrOlderVersion is the error of a pointer older than the one served: a replay.
var ErrOlderVersion = errors.New("older than the pointer this edge serves")

// Config configures a Poller. BaseURL, Environment and Apply are required.
type Config struct {
	// BaseURL is where the store's objects are served, without a trailing slash:
	// a CloudFront distribution in front of the bucket, or the local dev server.
	BaseURL     string
	Environment string
	// Apply installs a verified snapshot: the poller has checked that its SHA-256 is the
	// hash the pointer names, so Apply need not hash it again (host.Evaluator.LoadVerified,
	// snapshot.DecodeVerified). An error keeps the previous snapshot and counts as a
	// failed poll.
	Apply func(data []byte, p Pointer) error
	// OnStale, if set, is called when the host becomes stale (no successful poll within
	// Grace) and when it recovers.
	OnStale func(stale bool)
	// OnPoll, if set, is called after every poll with its error (nil when it succeeded),
	// after OnStale for a change the poll made.
	OnPoll func(err error)
	// Interval between polls (default 5 s), Grace before reporting stale (default 60 s),
	// Timeout of one poll (default 5 s).
	Interval, Grace, Timeout time.Duration
	// Client makes the requests (default http.DefaultClient).
	Client *http.Client
	// Keys, if set, makes signatures required: a pointer must be signed by one of these
	// keys for Environment, and must not be older (by version) than the pointer served.
	// A pointer that fails is refused like a corrupt snapshot: the last good snapshot
	// stays, the poll fails with the reason, and the host turns stale after Grace. Nil
	// accepts unsigned pointers and checks no signature.
	Keys *signing.Keyring
	// StateDir, if set, is a directory where the poller keeps what it serves, so that a
	// restart starts from it: after every poll that changes the served pointer it writes
	// the snapshot (<env>.<hash>.snap, when not there yet) and then the pointer as the
	// store sent it (<env>.pointer.json), each to a temporary file in the directory that
	// is synced and renamed, and removes the environment's other snapshots. An
	// interrupted write leaves the previous pair in place. The directory is created
	// (0700) when missing; the files are 0600. One poller per environment and directory.
	//
	// Restore, which Run calls first, applies the state when it is valid — the pointer
	// parses and names Environment, the snapshot hashes to the pointer's hash, and with
	// Keys the signature verifies with the current keys — and serves it as if a poll
	// had installed it, except that no poll has confirmed it: Status.Restored, and stale
	// after Grace unless a poll succeeds. With Keys, the restored pointer's version is
	// the floor the replay check holds later pointers to. Invalid state is ignored (the
	// poller starts empty) with the reason in Restore's error and Status.StateError.
	//
	// A failed write never fails the poll nor changes the snapshot served: it is
	// reported to OnStateWrite and in Status.StateError, and retried after the next
	// successful poll.
	StateDir string
	// OnStateWrite, if set, is called after every attempt to write the state with its
	// error (nil when written).
	OnStateWrite func(err error)
}

// Status is what a Poller knows.
type Status struct {
	Pointer     Pointer   // the pointer of the snapshot in use (zero before the first)
	Loaded      bool      // a snapshot has been applied
	LastSuccess time.Time // last poll that confirmed or installed the current snapshot
	LastError   error     // error of the last poll, nil when it succeeded
	Stale       bool
	Polls       int // polls made
	Failures    int // polls that failed
	NotModified int // polls answered 304
	Swaps       int // snapshots applied
	// Restored is set when the snapshot in use was restored from Config.StateDir and no
	// poll has confirmed or replaced it since; RestoredAt is when it was restored (kept
	// after a poll succeeds). Staleness counts from RestoredAt until a poll succeeds.
	Restored   bool
	RestoredAt time.Time
	// StateError is the error of the last state write, or of Restore while no write
	// has succeeded since; nil otherwise.
	StateError error
}

// Poller polls one environment of a store. Its methods are safe for concurrent use.
type Poller struct {
	cfg Config

	pollMu sync.Mutex // one poll at a time
	mu     sync.Mutex // guards the fields below
	etag   string     // ETag of the pointer that was applied or confirmed
	st     Status

	// Guarded by pollMu: the state of Config.StateDir.
	restoreDone bool   // Restore ran (or Run called it)
	body        []byte // the served pointer as the store sent it
	state       state
}

// New checks cfg and returns a poller; nothing is fetched until Poll or Run.
func New(cfg Config) (*Poller, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("poller: BaseURL is required")
	}
	if !layout.ValidEnvironment(cfg.Environment) {
		return nil, fmt.Errorf("poller: invalid environment %q (lower-case letters, digits, '_' and '-')", cfg.Environment)
	}
	if cfg.Apply == nil {
		return nil, errors.New("poller: Apply is required")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	return &Poller{cfg: cfg}, nil
}

// Run restores the state of Config.StateDir, unless Restore was called before, then
// polls immediately and every Interval until ctx is done, and returns ctx's error.
// Failed polls, and state that Restore ignored, are recorded in Status, not returned.
func (p *Poller) Run(ctx context.Context) error {
	p.pollMu.Lock()
	restored := p.restoreDone
	p.pollMu.Unlock()
	if !restored {
		_ = p.Restore() // its error is in Status.StateError
	}
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.Poll(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll makes one round: pointer, then snapshot if it changed, verify, apply.
func (p *Poller) Poll(ctx context.Context) error {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	err := p.poll(ctx)
	p.mu.Lock()
	p.st.Polls++
	p.st.LastError = err
	if err != nil {
		p.st.Failures++
	} else {
		p.st.LastSuccess = time.Now()
		p.st.Restored = false
	}
	p.mu.Unlock()
	if err == nil {
		p.saveState()
	}
	p.checkStale()
	if p.cfg.OnPoll != nil {
		p.cfg.OnPoll(err)
	}
	return err
}

// Status returns a copy of the poller's status, with Stale computed now.
func (p *Poller) Status() Status {
	p.checkStale()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Stale reports whether no poll has succeeded within the grace period while a snapshot
// is loaded. It also notifies OnStale of a change.
func (p *Poller) Stale() bool { return p.checkStale() }

func (p *Poller) checkStale() bool {
	p.mu.Lock()
	since := p.st.LastSuccess
	if since.IsZero() {
		since = p.st.RestoredAt // a restored snapshot no poll has confirmed yet
	}
	stale := p.st.Loaded && time.Since(since) > p.cfg.Grace
	changed := stale != p.st.Stale
	p.st.Stale = stale
	p.mu.Unlock()
	if changed && p.cfg.OnStale != nil {
		p.cfg.OnStale(stale)
	}
	return stale
}

func (p *Poller) poll(ctx context.Context) error {
	p.mu.Lock()
	etag, served, loaded := p.etag, p.st.Pointer, p.st.Loaded
	p.mu.Unlock()
	current := served.Snapshot

	url := p.cfg.BaseURL + "/" + layout.PointerKey(p.cfg.Environment)
	body, newETag, status, err := p.get(ctx, url, etag, layout.MaxPointerSize)
	if err != nil {
		return err
	}
	if status == http.StatusNotModified {
		p.mu.Lock()
		p.st.NotModified++
		p.mu.Unlock()
		return nil
	}
	ptr, err := layout.ParsePointer(body, p.cfg.Environment)
	if err != nil {
		return fmt.Errorf("poller: %s: %w", url, err)
	}
	if p.cfg.Keys != nil {
		if err := checkSigned(p.cfg.Keys, p.cfg.Environment, ptr, &served, loaded); err != nil {
			return fmt.Errorf("poller: %s refused: %w", url, err)
		}
	}
	var data []byte // the snapshot fetched, when it changes
	if ptr.Snapshot != current {
		snapURL := p.cfg.BaseURL + "/" + layout.SnapshotKey(ptr.Snapshot)
		var status int
		data, _, status, err = p.get(ctx, snapURL, "", MaxSnapshotSize)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("poller: %s: status %d", snapURL, status)
		}
		if err := snapshot.Verify(data); err != nil {
			return fmt.Errorf("poller: %s: %v", snapURL, err)
		}
		if h, _ := snapshot.Hash(data); h != ptr.Snapshot {
			return fmt.Errorf("poller: %s holds snapshot %s", snapURL, h)
		}
		if err := p.cfg.Apply(data, *ptr); err != nil {
			return fmt.Errorf("poller: applying snapshot %s: %w", ptr.Snapshot, err)
		}
	}
	p.mu.Lock()
	if ptr.Snapshot != current {
		p.st.Swaps++
	}
	p.etag = newETag
	p.st.Pointer = *ptr
	p.st.Loaded = true
	p.mu.Unlock()
	if p.cfg.StateDir != "" {
		p.body = body
		if ptr.Snapshot != current {
			p.state.unsaved = data
		}
	}
	return nil
}

// checkSigned checks ptr's signature with keys, for env, and that ptr is not older than
// served (when a pointer is loaded). The environment is the edge's own, not the one the
// pointer names: a pointer of another environment cannot verify.
func checkSigned(keys *signing.Keyring, env string, ptr, served *Pointer, loaded bool) error {
	if err := keys.Verify(env, ptr.Snapshot, ptr.Version, signing.Signature{KeyID: ptr.KeyID, Value: ptr.Signature}); err != nil {
		return err
	}
	if !loaded {
		return nil // a fresh edge takes the first valid pointer it sees
	}
	switch {
	case ptr.Version < served.Version:
		return fmt.Errorf("%w: version %d (snapshot %s), the edge serves version %d (snapshot %s)",
			ErrOlderVersion, ptr.Version, ptr.Snapshot, served.Version, served.Snapshot)
	case ptr.Version == served.Version && ptr.Snapshot != served.Snapshot:
		return fmt.Errorf("%w: version %d names snapshot %s, the edge serves snapshot %s as that version",
			ErrOlderVersion, ptr.Version, ptr.Snapshot, served.Snapshot)
	}
	return nil
}

// get fetches url; a 304 (when etag is set) returns status 304 and no body.
func (p *Poller) get(ctx context.Context, url, etag string, limit int64) (body []byte, newETag string, status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", 0, fmt.Errorf("poller: %v", err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return nil, "", 0, fmt.Errorf("poller: %v", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		return nil, etag, resp.StatusCode, nil
	case resp.StatusCode != http.StatusOK:
		return nil, "", resp.StatusCode, fmt.Errorf("poller: %s: status %d", url, resp.StatusCode)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", 0, fmt.Errorf("poller: %s: %v", url, err)
	}
	if int64(len(body)) > limit {
		return nil, "", 0, fmt.Errorf("poller: %s: larger than %d bytes", url, limit)
	}
	return body, resp.Header.Get("ETag"), resp.StatusCode, nil
}
