package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
)

// KillResult describes a kill or unkill.
type KillResult struct {
	Environment string
	Flag        string
	// Killed is whether the kill state kills the flag after the change.
	Killed bool
	// State is the kill state the change wrote.
	State KillState
	// Pointer is the environment's pointer after the republish.
	Pointer Pointer
	// Audit is the record written for the change.
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
	if !store.ValidEnvironment(env) {
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
	at := p.now()
	var before []string
	var state *KillState
	for attempt := 0; ; attempt++ {
		var etag string
		state, etag, err = ReadKillState(ctx, p.Store, env)
		if err != nil {
			return nil, err
		}
		before = state.KilledFlags()
		if kill {
			state.Killed[flag] = Kill{Reason: reason, By: who, At: at}
		} else {
			delete(state.Killed, flag)
		}
		state.Version++
		err = writeJSON(ctx, p.Store, store.KillStateKey(env), state, casOptions(etag, etag != ""))
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
		Before:           AuditSide{Killed: before},
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
	if moveErr == nil {
		result.Pointer = res.Pointer
		rec.After.Base, rec.After.Snapshot = res.Pointer.Base, res.Pointer.Snapshot
		if res.Previous != nil {
			rec.Before.Base, rec.Before.Snapshot = res.Previous.Base, res.Previous.Snapshot
		}
	} else {
		rec.Error = "republish failed: " + moveErr.Error()
	}
	auditErr := p.writeAudit(ctx, &rec)
	result.Audit = rec
	if moveErr != nil {
		return result, fmt.Errorf("publish: %s of %q recorded (kill state version %d) but the republish failed: %w", action, flag, state.Version, moveErr)
	}
	return result, auditErr
}
