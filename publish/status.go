package publish

import (
	"context"
	"fmt"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
)

// Status is what an environment serves now: the answer of the kill-switch API's
// GET /flags.
type Status struct {
	Environment string    `json:"environment"`
	Snapshot    string    `json:"snapshot"` // the snapshot version edges serve
	Base        string    `json:"base"`
	Revision    string    `json:"revision"`
	PublishedAt time.Time `json:"publishedAt"`
	// KillStateVersion is the version of the kill state read with the pointer.
	KillStateVersion int64        `json:"killStateVersion"`
	Flags            []FlagStatus `json:"flags"`
}

// FlagStatus is one flag of a Status.
type FlagStatus struct {
	Key     string `json:"key"`
	Enabled bool   `json:"enabled"`
	// Killed is whether the served snapshot has the flag killed.
	Killed bool `json:"killed"`
	// KilledInSource is set when the flag file itself says killed: true.
	KilledInSource bool `json:"killedInSource,omitempty"`
	// Kill is the kill switch's record when the kill state kills the flag. Kill set with
	// Killed false means the kill is not yet republished.
	Kill *Kill `json:"kill,omitempty"`
	// Ring is the release ring the flag is at, if it has a release; the ring and the
	// rings inside it get RingVariant.
	Ring        string `json:"ring,omitempty"`
	RingVariant string `json:"ringVariant,omitempty"`
	// RingPercentage is the share of the release ring's audience in force now.
	RingPercentage *float64 `json:"ringPercentage,omitempty"`
	// Variant is what the fallthrough rollout serves, and Percentage the share of the
	// users it reaches that get it now (a fixed variant is 100); both are absent for a
	// weighted split.
	Variant    string   `json:"variant,omitempty"`
	Percentage *float64 `json:"percentage,omitempty"`
}

// Status reads an environment's pointer, served snapshot and kill state and reports every
// flag at time now (schedules are evaluated at now).
func (p *Publisher) Status(ctx context.Context, env string, now time.Time) (*Status, error) {
	if !store.ValidEnvironment(env) {
		return nil, fmt.Errorf("%w %q: not a valid environment name", ErrUnknownEnvironment, env)
	}
	cur, _, err := ReadPointer(ctx, p.Store, env)
	if err != nil {
		return nil, err
	}
	obj, err := p.Store.Get(ctx, store.SnapshotKey(cur.Snapshot), store.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("publish: read the served snapshot of %q: %w", env, err)
	}
	s, err := snapshot.Decode(obj.Data)
	if err != nil {
		return nil, fmt.Errorf("publish: %w: %s: %w", ErrInvalidSnapshot, obj.Key, err)
	}
	base, err := p.loadBaseSnapshot(ctx, env, cur.Base)
	if err != nil {
		return nil, err
	}
	state, _, err := ReadKillState(ctx, p.Store, env)
	if err != nil {
		return nil, err
	}
	st := &Status{
		Environment:      env,
		Snapshot:         cur.Snapshot,
		Base:             cur.Base,
		Revision:         cur.Revision,
		PublishedAt:      cur.PublishedAt,
		KillStateVersion: state.Version,
		Flags:            make([]FlagStatus, len(s.Flags)),
	}
	at := now.UnixMilli()
	for i := range s.Flags {
		f := &s.Flags[i]
		fs := FlagStatus{Key: f.Key, Enabled: f.Enabled, Killed: f.Killed}
		if k, ok := state.Killed[f.Key]; ok {
			fs.Kill = &k
		}
		if j := base.FlagIndex(f.Key); j != snapshot.NoIndex {
			fs.KilledInSource = base.Flags[j].Killed
		}
		if f.ReleaseRing != snapshot.NoIndex && f.ReleaseRing < len(f.Rings) {
			ring := &f.Rings[f.ReleaseRing]
			fs.Ring = ring.Name
			fs.RingVariant = variantName(f, f.ReleaseVar)
			fs.RingPercentage = percentage(ring.Portion.ThresholdAt(at))
		}
		if f.Rollout.Kind == snapshot.ServeVariant {
			fs.Variant = variantName(f, f.Rollout.Variant)
			fs.Percentage = percentage(f.Rollout.Portion.ThresholdAt(at))
		}
		st.Flags[i] = fs
	}
	return st, nil
}

func percentage(threshold uint32) *float64 {
	v := snapshot.PercentageOf(threshold)
	return &v
}

func variantName(f *snapshot.Flag, i int) string {
	if i >= 0 && i < len(f.Variants) {
		return f.Variants[i].Name
	}
	return ""
}
