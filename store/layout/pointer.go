package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxPointerSize is the largest pointer readers accept, in bytes.
const MaxPointerSize = 64 << 10

// Pointer is an environment's <env>/current.json: the snapshot its edges serve.
type Pointer struct {
	Environment string `json:"environment"`
	// Snapshot is the content hash of the served snapshot (snapshots/<hash>.snap): the
	// base with the kill state applied.
	Snapshot string `json:"snapshot"`
	// Base is the content hash of the base snapshot it was made from.
	Base     string `json:"base"`
	Revision string `json:"revision"`
	// Killed lists the flags the served snapshot has killed, sorted (kill switches and
	// flags killed in their source alike).
	Killed []string `json:"killed"`
	// KillStateVersion is the version of the kill state the snapshot was made with.
	KillStateVersion int64 `json:"killStateVersion"`
	// Plan is the SHA-256 of the rollout plan in force (plans/<env>/<hash>.json), ""
	// when none was published.
	Plan string `json:"plan,omitempty"`
	// RolloutStateVersion is the version of the rollout state the snapshot was made with.
	RolloutStateVersion int64     `json:"rolloutStateVersion,omitempty"`
	PublishedAt         time.Time `json:"publishedAt"`
	// History lists the bases served before Base, newest first: what `rollback` without
	// a target goes back to.
	History []string `json:"history,omitempty"`
	// Version counts the environment's pointer moves: every write adds one (the
	// compare-and-swap of the move makes it grow strictly). Edges that verify signatures
	// refuse a pointer older than the one they serve.
	Version int64 `json:"version,omitempty"`
	// KeyID and Signature sign "Environment serves Snapshot as Version" (package
	// signing), when the publisher has a signer; both are empty otherwise.
	KeyID     string `json:"keyId,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// ErrPointer is the error of every pointer ParsePointer refuses.
var ErrPointer = errors.New("not a valid pointer")

// ParsePointer decodes a pointer read from env's pointer key and checks it: it must be a
// JSON object of at most MaxPointerSize bytes naming env, with the snapshot, the base
// (when set), the plan (when set) and every history entry content hashes, and versions
// not negative. Fields it does not know are ignored. Errors wrap ErrPointer and name the
// field at fault.
func ParsePointer(data []byte, env string) (*Pointer, error) {
	if len(data) > MaxPointerSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrPointer, MaxPointerSize)
	}
	var p Pointer
	// publishedAt is decoded apart, so that its error names it as the others do theirs.
	type fields Pointer
	aux := struct {
		*fields
		PublishedAt json.RawMessage `json:"publishedAt"`
	}{fields: (*fields)(&p)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPointer, err)
	}
	if len(aux.PublishedAt) > 0 && string(aux.PublishedAt) != "null" {
		if err := p.PublishedAt.UnmarshalJSON(aux.PublishedAt); err != nil {
			return nil, fmt.Errorf("%w: publishedAt %s is not an RFC 3339 time", ErrPointer, aux.PublishedAt)
		}
	}
	if err := p.Check(env); err != nil {
		return nil, err
	}
	return &p, nil
}

// Check reports whether p is a valid pointer of env (see ParsePointer).
func (p *Pointer) Check(env string) error {
	switch {
	case p.Environment != env:
		return fmt.Errorf("%w: it names environment %q, want %q", ErrPointer, p.Environment, env)
	case !ValidHash(p.Snapshot):
		return fmt.Errorf("%w: snapshot %q is not a SHA-256 hex digest", ErrPointer, p.Snapshot)
	case p.Base != "" && !ValidHash(p.Base):
		return fmt.Errorf("%w: base %q is not a SHA-256 hex digest", ErrPointer, p.Base)
	case p.Plan != "" && !ValidHash(p.Plan):
		return fmt.Errorf("%w: plan %q is not a SHA-256 hex digest", ErrPointer, p.Plan)
	case p.Version < 0:
		return fmt.Errorf("%w: version %d is negative", ErrPointer, p.Version)
	case p.KillStateVersion < 0:
		return fmt.Errorf("%w: killStateVersion %d is negative", ErrPointer, p.KillStateVersion)
	case p.RolloutStateVersion < 0:
		return fmt.Errorf("%w: rolloutStateVersion %d is negative", ErrPointer, p.RolloutStateVersion)
	}
	for i, h := range p.History {
		if !ValidHash(h) {
			return fmt.Errorf("%w: history[%d] %q is not a SHA-256 hex digest", ErrPointer, i, h)
		}
	}
	return nil
}

// EncodePointer returns p as the store holds it: indented JSON and a newline. It fails
// only for a PublishedAt outside the years 0 to 9999.
func EncodePointer(p *Pointer) ([]byte, error) {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("layout: encoding the pointer of %q: %w", p.Environment, err)
	}
	return append(data, '\n'), nil
}
