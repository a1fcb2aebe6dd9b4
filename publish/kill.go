package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// KillResult describes a kill or unkill.
type KillResult struct {
	Environment string
	Flag        string
	// Killed is whether the kill state kills the flag after the change.
	Killed bool
	// State is the kill state the change wrote.
	State KillState
	// Pointer is the environment's pointer after the republish. Its kill state version
	// is State.Version, or higher when concurrent changes were served first.
	Pointer Pointer
	// Audit is the record written for the change. Audit.After.Snapshot is the snapshot
	// made from exactly State (docs/store-layout.md, "Audit records").
	Audit AuditRecord
}

// Kill turns a flag off in an environment: it records the kill in the kill state with a
// compare-and-swap, republishes the current base with it, and appends an audit record.
// Every call is one change (a repeated kill updates the reason and is audited again).
// reason is required; who names the caller.
func (p *Publisher) Kill(ctx context.Context, env, flag, reason, who string) (*KillResult, error) {
	if reason == "" {
		return nil, errors.New("publish: a kill needs a reason")
	}
	return p.setKill(ctx, env, flag, true, reason, who)
}

// Unkill turns a flag's kill switch off again, the same way Kill turns it on. reason is
// optional. A flag killed in its source (killed: true in its file) cannot be unkilled
// here: ErrKilledInSource.
func (p *Publisher) Unkill(ctx context.Context, env, flag, reason, who string) (*KillResult, error) {
	return p.setKill(ctx, env, flag, false, reason, who)
}

// CheckFlag returns ErrUnknownEnvironment or ErrUnknownFlag unless env serves flag, and
// reports whether the flag is killed in its source. It reads only; callers use it to
// refuse a request before anything is written.
func (p *Publisher) CheckFlag(ctx context.Context, env, flag string) (killedInSource bool, err error) {
	if !layout.ValidEnvironment(env) {
		return false, fmt.Errorf("%w %q: not a valid environment name", ErrUnknownEnvironment, env)
	}
	cur, _, err := ReadPointer(ctx, p.Store, env)
	if err != nil {
		return false, err
	}
	base, err := p.loadBaseSnapshot(ctx, env, cur.Base)
	if err != nil {
		return false, err
	}
	i := base.FlagIndex(flag)
	if i == snapshot.NoIndex {
		return false, fmt.Errorf("%w %q in environment %q (snapshot %s)", ErrUnknownFlag, flag, env, cur.Snapshot)
	}
	return base.Flags[i].Killed, nil
}

func (p *Publisher) setKill(ctx context.Context, env, flag string, kill bool, reason, who string) (*KillResult, error) {
	killedInSource, err := p.CheckFlag(ctx, env, flag)
	if err != nil {
		return nil, err
	}
	if !kill && killedInSource {
		return nil, fmt.Errorf("%w: %q in %q says killed: true; change the flag file and publish", ErrKilledInSource, flag, env)
	}
	var prev, state *KillState
	var at time.Time
	for attempt := 0; ; attempt++ {
		var etag string
		state, etag, err = ReadKillState(ctx, p.Store, env)
		if err != nil {
			return nil, err
		}
		prev = state.clone()
		// The change's time is after the previous change's, whatever this clock says,
		// so that kill audit records sort by time in write order.
		at = p.now()
		if !at.After(state.UpdatedAt) {
			at = state.UpdatedAt.Add(time.Nanosecond)
		}
		if kill {
			state.Killed[flag] = Kill{Reason: reason, By: who, At: at}
		} else {
			delete(state.Killed, flag)
		}
		state.Version++
		state.UpdatedAt = at
		err = writeJSON(ctx, p.Store, layout.KillStateKey(env), state, casOptions(etag, etag != ""))
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrPreconditionFailed) {
			return nil, fmt.Errorf("publish: write the kill state of %q: %w", env, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("publish: write the kill state of %q: %w", env, err)
		}
	}

	action := ActionUnkill
	if kill {
		action = ActionKill
	}
	rec := AuditRecord{
		Environment:      env,
		Action:           action,
		Flag:             flag,
		Who:              who,
		Why:              reason,
		At:               at,
		Before:           AuditSide{Killed: prev.KilledFlags()},
		After:            AuditSide{Killed: state.KilledFlags()},
		KillStateVersion: state.Version,
	}
	// The kill state is written: from here on the change happened, and it is audited
	// whether or not the republish succeeds (a later republish picks it up).
	res, moveErr := p.move(ctx, env, "", func(cur *Pointer) (string, []string, bool, error) {
		if cur == nil {
			return "", nil, false, fmt.Errorf("%w %q: nothing published to it in %s", ErrUnknownEnvironment, env, p.Store)
		}
		// A pointer made from this kill state version or a later one already serves this
		// change: a concurrent kill's republish did the work.
		return cur.Base, cur.History, cur.KillStateVersion >= state.Version, nil
	})
	result := &KillResult{Environment: env, Flag: flag, Killed: kill, State: *state}
	var describeErr error
	if moveErr == nil {
		result.Pointer = res.Pointer
		if describeErr = p.describeChange(ctx, &rec, res, prev, state); describeErr != nil {
			rec.Error = "the snapshots of the change could not be made: " + describeErr.Error()
		}
	} else {
		rec.Error = "republish failed: " + moveErr.Error()
	}
	// The key holds the version, so that the record is written once, and the time,
	// which grows with the version, so that keys sort in write order.
	auditErr := p.writeAuditAs(ctx, &rec, fmt.Sprintf("k%019d", state.Version))
	result.Audit = rec
	switch {
	case moveErr != nil:
		return result, fmt.Errorf("publish: %s of %q recorded (kill state version %d) but the republish failed: %w", action, flag, state.Version, moveErr)
	case describeErr != nil:
		return result, fmt.Errorf("publish: %s of %q served (kill state version %d) but its snapshots could not be recorded: %w", action, flag, state.Version, describeErr)
	}
	return result, auditErr
}

// describeChange fills the snapshots of rec, the audit record of a kill or unkill that
// changed the kill state from prev to next and was then republished (res): the
// snapshots made from the base the pointer serves after the republish, with exactly the
// kill state before and after the change. When the pointer was made from next, its
// snapshot is the after side; when concurrent changes were served before this one alone
// (the pointer's kill state version is higher), the snapshot of exactly next is made and
// stored here, and rec names the served one in ServedSnapshot.
func (p *Publisher) describeChange(ctx context.Context, rec *AuditRecord, res *Result, prev, next *KillState) error {
	ptr := res.Pointer
	env := ptr.Environment
	var (
		baseData []byte
		rollouts *RolloutState
	)
	snapshotOf := func(ks *KillState) (string, error) {
		if baseData == nil {
			var err error
			if baseData, err = p.loadBase(ctx, env, ptr.Base); err != nil {
				return "", err
			}
			if rollouts, _, err = ReadRolloutState(ctx, p.Store, env); err != nil {
				return "", err
			}
		}
		s, err := snapshot.Decode(baseData)
		if err != nil {
			return "", fmt.Errorf("publish: %w: %s: %w", ErrInvalidSnapshot, ptr.Base, err)
		}
		served, _ := merge(baseData, s, ks, rollouts)
		if err := checkSize("snapshot of base "+ptr.Base+" with the kill and rollout state", served); err != nil {
			return "", err
		}
		hash, err := snapshot.Hash(served)
		if err != nil {
			return "", err
		}
		return hash, putImmutable(ctx, p.Store, layout.SnapshotKey(hash), served)
	}

	rec.After.Base, rec.Before.Base = ptr.Base, ptr.Base
	if ptr.KillStateVersion == next.Version {
		rec.After.Snapshot = ptr.Snapshot
	} else {
		hash, err := snapshotOf(next)
		if err != nil {
			return err
		}
		rec.After.Snapshot = hash
		rec.ServedSnapshot, rec.ServedKillStateVersion = ptr.Snapshot, ptr.KillStateVersion
	}
	if pv := res.Previous; pv != nil && pv.KillStateVersion == prev.Version && pv.Base == ptr.Base {
		rec.Before.Snapshot = pv.Snapshot
		return nil
	}
	hash, err := snapshotOf(prev)
	if err != nil {
		return err
	}
	rec.Before.Snapshot = hash
	return nil
}
