package rollout

import (
	"context"
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
	return &noRolloutError{flag: flag, env: env}
}

type noRolloutError struct{ flag, env string }

func (e *noRolloutError) Error() string {
	return "rollout: no staged rollout for \"" + e.flag + "\" in \"" + e.env + "\": the published plan has no stages for it"
}

func (e *noRolloutError) Unwrap() error { return ErrNoRollout }
