package devstack

import (
	"context"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
)

// runRollouts runs the rollout controller over every environment of the project every
// RolloutInterval until ctx ends, and logs each decision that changes a rollout.
func (s *Stack) runRollouts(ctx context.Context) {
	ctl := &rollout.Controller{
		Publisher: s.pub, Providers: s.cfg.Providers, Notifier: s.cfg.Notifier, Actor: "edgeflag dev rollout controller",
		Logf: func(format string, args ...any) { s.log.printf(format, args...) },
	}
	t := time.NewTicker(s.cfg.RolloutInterval)
	defer t.Stop()
	for {
		for _, env := range s.environments() {
			res, err := ctl.Tick(ctx, env)
			if err != nil {
				if ctx.Err() == nil {
					s.log.printf("rollout %s: %v", env, err)
				}
				continue
			}
			for _, d := range res.Decisions {
				if d.Decision.Action == publish.DecisionHold {
					continue
				}
				s.log.printf("rollout    %s %s: %s, stage %d (%s), %s: %s", env, d.Flag, d.Decision.Action,
					d.Decision.To+1, d.Decision.Serve.String(), d.Decision.Status, d.Decision.Reason)
			}
			if res.Republished {
				s.log.printf("published  %s snapshot %s (rollouts)", env, short(res.Snapshot))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// environments returns the environments of the last good build.
func (s *Stack) environments() []string {
	s.envMu.Lock()
	defer s.envMu.Unlock()
	return s.envs
}
