package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
)

// Actions people take on a rollout (`edgeflag rollout pause|resume|promote|rollback`).
var manualActions = map[string]bool{
	publish.DecisionPause:    true,
	publish.DecisionResume:   true,
	publish.DecisionPromote:  true,
	publish.DecisionRollback: true,
}

// ValidAction reports whether action is one a person can take on a rollout.
func ValidAction(action string) bool { return manualActions[action] }

// Act applies a person's action to a flag's rollout: pause (hold the stage), resume (a
// paused rollout continues its stage with a fresh clock; a rolled-back one starts again
// at its first stage), promote (the next stage now, whatever the metrics) or rollback
// (the old variant for everyone). It writes the state with a compare-and-swap, records
// the decision, notifies a pause or rollback, and republishes. reason is required.
func (c *Controller) Act(ctx context.Context, env, flag, action, reason, who string) (*FlagDecision, error) {
	if !ValidAction(action) {
		return nil, fmt.Errorf("%w: %q is not pause, resume, promote or rollback", ErrInvalidTransition, action)
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errors.New("rollout: a " + action + " needs a reason")
	}
	if who == "" {
		who = "unknown"
	}
	for attempt := 0; ; attempt++ {
		v, err := c.read(ctx, env)
		if err != nil {
			return nil, err
		}
		fp := v.plan.flag(flag)
		if fp == nil {
			return nil, errNoRollout(flag, env)
		}
		if err := c.finish(ctx, env, v.ptr, v.state); err != nil {
			return nil, err
		}
		now := c.now()
		next := cloneState(v.state)
		// Rollouts the controller has not started or adapted yet (and killed ones) are
		// brought in line with the plan first, and those decisions recorded too.
		record(next, c.reconcile(v.plan, v.ptr, next, now))
		r := next.Flags[flag]
		if err := transitionAllowed(r, fp, action); err != nil {
			return nil, fmt.Errorf("%w: %s of %q in %q: %v", ErrInvalidTransition, action, flag, env, err)
		}
		d := publish.RolloutDecision{}
		c.apply(fp, r, action, reason, who, now, &d)
		if !fp.Stages[r.Stage].Infinite {
			d.NextCheckAt = r.StageStartedAt.Add(timeDuration(fp.Stages[r.Stage].Duration))
		}
		decision := []FlagDecision{{Environment: env, Flag: flag, Decision: d}}
		record(next, decision) // a change of its own, after any the plan made
		d = decision[0].Decision
		err = publish.WriteRolloutState(ctx, c.Publisher.Store, next, v.etag)
		if errors.Is(err, store.ErrPreconditionFailed) {
			if attempt+1 >= maxAttempts {
				return nil, fmt.Errorf("rollout: %s of %q: the rollout state kept changing under it", action, flag)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rollout: write the rollout state of %q: %w", env, err)
		}
		if _, err := c.serve(ctx, env, v.ptr, next); err != nil {
			return &FlagDecision{Environment: env, Flag: flag, Decision: d}, err
		}
		return &FlagDecision{Environment: env, Flag: flag, Decision: d}, nil
	}
}

func transitionAllowed(r *publish.FlagRollout, fp *FlagPlan, action string) error {
	switch action {
	case publish.DecisionPause:
		if r.Status != publish.RolloutRunning {
			return fmt.Errorf("it is %s, not running", r.Status)
		}
	case publish.DecisionResume:
		if r.Status != publish.RolloutPaused && r.Status != publish.RolloutRolledBack {
			return fmt.Errorf("it is %s, not paused or rolled back", r.Status)
		}
	case publish.DecisionPromote:
		if r.Status == publish.RolloutRolledBack {
			return errors.New("it is rolled back: resume it first")
		}
		if r.Status == publish.RolloutCompleted || r.Stage == len(fp.Stages)-1 {
			return errors.New("it is at its last stage")
		}
	case publish.DecisionRollback:
		if r.Status == publish.RolloutRolledBack {
			return errors.New("it is already rolled back")
		}
	}
	return nil
}
