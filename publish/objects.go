package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/edgeflag/edgeflag/store"
)

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
	// History lists the bases served before Base, newest first, at most HistoryLength:
	// what `rollback` without a target goes back to.
	History []string `json:"history,omitempty"`
	// Version counts the environment's pointer moves: every write adds one (the
	// compare-and-swap of the move makes it grow strictly). Edges that verify signatures
	// refuse a pointer older than the one they serve.
	Version int64 `json:"version,omitempty"`
	// KeyID and Signature sign "Environment serves Snapshot as Version" (package
	// signing), when the Publisher has a Signer; both are empty otherwise.
	KeyID     string `json:"keyId,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// HistoryLength bounds Pointer.History. Older bases stay in the store; roll back to them
// by hash.
const HistoryLength = 20

// KillState is an environment's <env>/kill-state.json: the flags turned off with the kill
// switch. The Lambda changes it with a conditional write and republishes.
type KillState struct {
	Environment string `json:"environment"`
	// Version counts the changes: every kill or unkill adds one. Audit records carry it,
	// so the audit trail orders changes exactly even when clocks do not.
	Version int64           `json:"version"`
	Killed  map[string]Kill `json:"killed"`
	// UpdatedAt is the time of the last change. Each change's time is after the one
	// before it, even across writers whose clocks disagree, so audit records of kills
	// sort by time exactly as they do by version.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// clone returns a copy of s that shares nothing with it.
func (s *KillState) clone() *KillState {
	c := *s
	c.Killed = maps.Clone(s.Killed)
	if c.Killed == nil {
		c.Killed = map[string]Kill{}
	}
	return &c
}

// Kill records why and by whom a flag was killed.
type Kill struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// KilledFlags returns the killed flag keys, sorted.
func (s *KillState) KilledFlags() []string {
	keys := make([]string, 0, len(s.Killed))
	for k := range s.Killed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readJSON reads and decodes a JSON object; found is false when there is none.
func readJSON(ctx context.Context, st store.Store, key string, v any) (etag string, found bool, err error) {
	obj, err := st.Get(ctx, key, store.GetOptions{})
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if err := json.Unmarshal(obj.Data, v); err != nil {
		return "", false, fmt.Errorf("publish: %s in %s is not valid JSON: %w", key, st, err)
	}
	return obj.ETag, true, nil
}

// writeJSON writes v as indented JSON with the given condition.
func writeJSON(ctx context.Context, st store.Store, key string, v any, opts store.PutOptions) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = st.Put(ctx, key, append(data, '\n'), opts)
	return err
}

// casOptions is the condition of a compare-and-swap on an object read with etag.
func casOptions(etag string, found bool) store.PutOptions {
	if !found {
		return store.PutOptions{IfAbsent: true}
	}
	return store.PutOptions{IfMatch: etag}
}

// ReadPointer returns an environment's pointer and its ETag, or ErrUnknownEnvironment when
// nothing was published to it.
func ReadPointer(ctx context.Context, st store.Store, env string) (*Pointer, string, error) {
	p, etag, err := readPointer(ctx, st, env)
	if err == nil && p == nil {
		err = fmt.Errorf("%w %q: nothing published to it in %s", ErrUnknownEnvironment, env, st)
	}
	return p, etag, err
}

// readPointer is ReadPointer with a nil pointer, not an error, when there is none.
func readPointer(ctx context.Context, st store.Store, env string) (*Pointer, string, error) {
	var p Pointer
	etag, found, err := readJSON(ctx, st, store.PointerKey(env), &p)
	if err != nil || !found {
		return nil, "", err
	}
	if p.Environment != env || !store.ValidHash(p.Snapshot) || !store.ValidHash(p.Base) {
		return nil, "", fmt.Errorf("publish: pointer %s in %s is malformed (environment %q, snapshot %q, base %q)",
			store.PointerKey(env), st, p.Environment, p.Snapshot, p.Base)
	}
	return &p, etag, nil
}

// ReadKillState returns an environment's kill state (empty when there is none) and its
// ETag ("" when there is none).
func ReadKillState(ctx context.Context, st store.Store, env string) (*KillState, string, error) {
	s := &KillState{Environment: env}
	etag, found, err := readJSON(ctx, st, store.KillStateKey(env), s)
	if err != nil {
		return nil, "", err
	}
	if found && s.Environment != env {
		return nil, "", fmt.Errorf("publish: kill state %s in %s names environment %q", store.KillStateKey(env), st, s.Environment)
	}
	if s.Killed == nil {
		s.Killed = map[string]Kill{}
	}
	return s, etag, nil
}
