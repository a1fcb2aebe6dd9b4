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
	"github.com/edgeflag/edgeflag/store/layout"
)

// Pointer is an environment's <env>/current.json: the snapshot its edges serve. Its
// fields, encoding and checks are the store layout's (package store/layout).
type Pointer = layout.Pointer

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
	obj, err := st.Get(ctx, layout.PointerKey(env), store.GetOptions{})
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	p, err := layout.ParsePointer(obj.Data, env)
	if err == nil && p.Base == "" {
		err = fmt.Errorf("%w: it names no base snapshot", layout.ErrPointer)
	}
	if err != nil {
		return nil, "", fmt.Errorf("publish: pointer %s in %s: %w", layout.PointerKey(env), st, err)
	}
	return p, obj.ETag, nil
}

// ReadKillState returns an environment's kill state (empty when there is none) and its
// ETag ("" when there is none).
func ReadKillState(ctx context.Context, st store.Store, env string) (*KillState, string, error) {
	s := &KillState{Environment: env}
	etag, found, err := readJSON(ctx, st, layout.KillStateKey(env), s)
	if err != nil {
		return nil, "", err
	}
	if found && s.Environment != env {
		return nil, "", fmt.Errorf("publish: kill state %s in %s names environment %q", layout.KillStateKey(env), st, s.Environment)
	}
	if s.Killed == nil {
		s.Killed = map[string]Kill{}
	}
	return s, etag, nil
}
