package publish

import (
	"context"
	"fmt"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
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
	// RingPercentage is the nominal share of all users the release reaches now, as
	// edgeflag diff reports it: the largest reach of the release ring and the rings inside
	// it, a ring's reach being its percentage (the step in force for a schedule) or, for a
	// ring chosen by a condition, the largest percentage in that condition (the canary's
	// "beta users or 5%" is 5). It is absent when every such ring is chosen by segments or
	// attributes only, whose size the snapshot cannot know.
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
	if !layout.ValidEnvironment(env) {
		return nil, fmt.Errorf("%w %q: not a valid environment name", ErrUnknownEnvironment, env)
	}
	cur, _, err := ReadPointer(ctx, p.Store, env)
	if err != nil {
		return nil, err
	}
	obj, err := p.Store.Get(ctx, layout.SnapshotKey(cur.Snapshot), store.GetOptions{})
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
			fs.Ring = f.Rings[f.ReleaseRing].Name
			fs.RingVariant = variantName(f, f.ReleaseVar)
			fs.RingPercentage = releaseReach(f, at)
		}
		if f.Rollout.Kind == snapshot.ServeVariant {
			fs.Variant = variantName(f, f.Rollout.Variant)
			fs.Percentage = percentage(f.Rollout.Portion.ThresholdAt(at))
		}
		st.Flags[i] = fs
	}
	return st, nil
}

// releaseReach returns the nominal share of all users that a flag's release reaches at
// time at: the largest reach of the rings up to and including the release ring, or nil
// when none of them has a known size.
func releaseReach(f *snapshot.Flag, at int64) *float64 {
	var best uint32
	known := false
	for i := 0; i <= f.ReleaseRing && i < len(f.Rings); i++ {
		if t, ok := ringReach(&f.Rings[i], at); ok {
			best = max(best, t)
			known = true
		}
	}
	if !known {
		return nil
	}
	return percentage(best)
}

// ringReach returns the threshold of all users a ring covers at time at: its portion for
// a ring without a condition; for a ring with one, the largest percentage inside the
// condition, bounded by the ring's own portion. ok is false for a ring chosen by segments
// or attributes only.
func ringReach(r *snapshot.Ring, at int64) (threshold uint32, ok bool) {
	portion := r.Portion.ThresholdAt(at)
	if r.When == nil {
		return portion, true
	}
	cond, ok := maxPercentage(r.When)
	if !ok {
		return 0, false
	}
	return min(cond, portion), true
}

// maxPercentage returns the largest percentage threshold in a condition tree.
func maxPercentage(c *snapshot.Condition) (threshold uint32, ok bool) {
	if c.Kind == snapshot.CondPercentage {
		return c.Portion.Threshold, true
	}
	for i := range c.Children {
		if t, found := maxPercentage(&c.Children[i]); found {
			threshold = max(threshold, t)
			ok = true
		}
	}
	return threshold, ok
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
