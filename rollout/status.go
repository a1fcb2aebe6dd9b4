package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/edgeflag/edgeflag/publish"
)

// FlagStatus is where one staged rollout stands: `edgeflag rollout status`.
type FlagStatus struct {
	Environment string `json:"environment"`
	Flag        string `json:"flag"`
	// Started is false while the controller has not yet seen the flag's stages.
	Started bool   `json:"started"`
	Status  string `json:"status,omitempty"`
	// Stage is the current stage, 1-based, of Stages.
	Stage  int                  `json:"stage"`
	Stages int                  `json:"stages"`
	Serve  publish.RolloutServe `json:"serve"`
	Since  time.Time            `json:"since,omitzero"`
	// NextCheckAt is when the stage's duration ends (zero for an infinite stage).
	NextCheckAt time.Time                 `json:"nextCheckAt,omitzero"`
	Reason      string                    `json:"reason,omitempty"`
	LastCheck   *publish.RolloutDecision  `json:"lastCheck,omitempty"`
	History     []publish.RolloutDecision `json:"history,omitempty"`
	Plan        FlagPlan                  `json:"plan"`
}

// Status reports every staged rollout of an environment, sorted by flag (one flag when
// flag is not empty: ErrNoRollout if it has no stages).
func (c *Controller) Status(ctx context.Context, env, flag string) ([]FlagStatus, error) {
	v, err := c.read(ctx, env)
	if err != nil {
		return nil, err
	}
	out := []FlagStatus{}
	for _, fp := range v.plan.Flags {
		if flag != "" && fp.Flag != flag {
			continue
		}
		s := FlagStatus{Environment: env, Flag: fp.Flag, Stages: len(fp.Stages), Plan: fp, Stage: 1, Serve: serveOf(fp.Stages[0])}
		if r := v.state.Flags[fp.Flag]; r != nil && r.Stage < len(fp.Stages) {
			s.Started, s.Status, s.Stage, s.Serve, s.Since = true, r.Status, r.Stage+1, r.Serve, r.StageStartedAt
			s.Reason, s.LastCheck, s.History = r.Reason, r.LastCheck, r.History
			if st := fp.Stages[r.Stage]; !st.Infinite {
				s.NextCheckAt = r.StageStartedAt.Add(time.Duration(st.Duration))
			}
		}
		out = append(out, s)
	}
	if flag != "" && len(out) == 0 {
		return nil, errNoRollout(flag, env)
	}
	return out, nil
}

func errNoRollout(flag, env string) error {
	return fmt.Errorf("%w for %q in %q: the published plan has no stages for it", ErrNoRollout, flag, env)
}

// SeriesPoint is the checks of a rollout's current stage as they stood at one time.
type SeriesPoint struct {
	At     time.Time                `json:"at"`
	Checks []publish.CriterionCheck `json:"checks"`
}

// Series queries a running or paused rollout's current stage at points evenly spaced
// from its start to now (at least 2, at most 60), each over the stage up to that point,
// as the controller saw or would have seen it: the new-against-old chart of the
// dashboard. It changes nothing.
func (c *Controller) Series(ctx context.Context, env, flag string, points int) ([]SeriesPoint, error) {
	points = min(max(points, 2), 60)
	v, err := c.read(ctx, env)
	if err != nil {
		return nil, err
	}
	fp := v.plan.flag(flag)
	r := v.state.Flags[flag]
	if fp == nil {
		return nil, errNoRollout(flag, env)
	}
	if r == nil || r.Stage >= len(fp.Stages) || len(fp.Stages[r.Stage].Criteria) == 0 {
		return []SeriesPoint{}, nil
	}
	now := c.now()
	span := now.Sub(r.StageStartedAt)
	obs := newObserver(c.Providers, c.Concurrency)
	out := make([]SeriesPoint, 0, points)
	for i := 1; i <= points; i++ {
		at := r.StageStartedAt.Add(span * time.Duration(i) / time.Duration(points))
		probe := *r
		probe.Failures = nil
		pointCache := &obsCache{m: map[string]*Observation{}}
		checks := c.judgeStage(ctx, env, v.plan, fp, &probe, at, obs, pointCache)
		out = append(out, SeriesPoint{At: at, Checks: checks})
	}
	return out, nil
}
