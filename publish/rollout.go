package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// RolloutState is an environment's <env>/rollout-state.json: where each staged rollout
// stands. The rollout controller and the rollout API change it with conditional writes;
// publishing merges what it serves into the snapshot (before the kill state: a kill
// always wins). The plan (stages, criteria) stays in git; this is only the runtime state.
type RolloutState struct {
	Environment string `json:"environment"`
	// Version counts the changes that matter to what is served or to a rollout's status
	// (a stage change, a pause, a rollback, a resume). A tick that only records a check
	// rewrites the object without changing Version. The pointer records the version its
	// snapshot was made with, so a republish left undone by a crash is seen and redone.
	Version int64                   `json:"version"`
	Flags   map[string]*FlagRollout `json:"flags"`
}

// Rollout statuses.
const (
	RolloutRunning    = "running"    // the controller checks the criteria and moves stages
	RolloutPaused     = "paused"     // held at its stage until a human resumes it
	RolloutRolledBack = "rolledBack" // the old variant is served to everyone until resumed
	RolloutCompleted  = "completed"  // the last stage was reached and held
)

// FlagRollout is one flag's rollout.
type FlagRollout struct {
	// Fingerprint is the plan's fingerprint of the flag's stages when this state was
	// made; a different one in the plan means the stages changed in git.
	Fingerprint string `json:"fingerprint"`
	// Stage is the index of the current stage in the plan.
	Stage  int    `json:"stage"`
	Status string `json:"status"`
	// Serve is what the stage serves; the merge applies it to the snapshot.
	Serve RolloutServe `json:"serve"`
	// StageStartedAt is when the current stage (or its latest restart) began: the window
	// of its metrics starts here.
	StageStartedAt time.Time `json:"stageStartedAt"`
	// Reason, By and ChangedAt explain the last change of Status or Stage.
	Reason    string    `json:"reason,omitempty"`
	By        string    `json:"by,omitempty"`
	ChangedAt time.Time `json:"changedAt"`
	// Failures counts, per criterion index of the stage, the consecutive checks that
	// failed (criteria on a value metric fail the stage only on the second in a row).
	Failures map[int]int `json:"failures,omitempty"`
	// LastCheck is the newest decision, whatever it was (HOLD included).
	LastCheck *RolloutDecision `json:"lastCheck,omitempty"`
	// History holds the decisions that changed the rollout, oldest first, at most
	// RolloutHistoryLength: the rollout's timeline.
	History []RolloutDecision `json:"history,omitempty"`
}

// RolloutHistoryLength bounds FlagRollout.History; the audit trail keeps everything.
const RolloutHistoryLength = 50

// RolloutServe is what a stage serves: a percentage of the flag's fallthrough rollout or
// a ring of its release.
type RolloutServe struct {
	Percentage *float64 `json:"percentage,omitempty"`
	Ring       string   `json:"ring,omitempty"`
}

// String describes what is served: "25%" or "ring canary".
func (s RolloutServe) String() string {
	switch {
	case s.Percentage != nil:
		return strconv.FormatFloat(*s.Percentage, 'f', -1, 64) + "%"
	case s.Ring != "":
		return "ring " + s.Ring
	}
	return "nothing"
}

// Rollout actions: the decisions of the controller and the requests of people.
const (
	DecisionHold     = "hold"     // nothing to change yet
	DecisionProceed  = "proceed"  // the stage's criteria held for its duration: next stage
	DecisionComplete = "complete" // the last stage's duration passed with its criteria held
	DecisionPause    = "pause"    // a criterion marked onFail: pause failed, data is missing, or a person paused
	DecisionRollback = "rollback" // a criterion failed: the old variant for everyone
	DecisionResume   = "resume"   // a person resumed a paused or rolled-back rollout
	DecisionPromote  = "promote"  // a person moved the rollout to its next stage
	DecisionRestart  = "restart"  // the stages changed in git; the rollout adapted
	DecisionStart    = "start"    // the controller first saw the flag's stages
)

// RolloutDecision is one decision with the numbers behind it.
type RolloutDecision struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	// From and To are the stage indexes before and after; Serve is what To serves.
	From   int          `json:"from"`
	To     int          `json:"to"`
	Serve  RolloutServe `json:"serve"`
	Status string       `json:"status"` // the status after the decision
	Reason string       `json:"reason"`
	By     string       `json:"by"`
	// Version is the rollout state version the decision produced (0 for a HOLD, which
	// changes nothing).
	Version int64 `json:"version,omitempty"`
	// NextCheckAt is when the stage's duration ends (zero for an infinite stage).
	NextCheckAt time.Time        `json:"nextCheckAt,omitzero"`
	Checks      []CriterionCheck `json:"checks,omitempty"`
}

// Check outcomes.
const (
	CheckHolds        = "holds"        // the criterion holds (significantly, or by its point estimate at the stage's end)
	CheckViolated     = "violated"     // the criterion fails: significant evidence, or two failed looks for a value metric
	CheckInconclusive = "inconclusive" // not decided yet: the test has not separated
	CheckTooFewData   = "too-few-samples"
	CheckNoData       = "no-data"
	CheckError        = "error" // the provider failed: unreachable, bad query
)

// CriterionCheck is one criterion's check: the values of both variants, the samples
// behind them, the threshold applied, the sequential test's interval and the outcome.
type CriterionCheck struct {
	Metric    string `json:"metric"`
	Threshold string `json:"threshold"`
	OnFail    string `json:"onFail"`
	// New and Old are the metric's values for the new and the old variant (nil when
	// missing); NewSamples and OldSamples the requests behind them.
	New        *float64 `json:"new,omitempty"`
	Old        *float64 `json:"old,omitempty"`
	NewSamples float64  `json:"newSamples"`
	OldSamples float64  `json:"oldSamples"`
	// Limit is the threshold in force: the absolute value, or the baseline times its
	// factor.
	Limit *float64 `json:"limit,omitempty"`
	// Lower and Upper bound the difference new - limit with the test's confidence
	// (always valid under repeated looks); absent for a value metric.
	Lower  *float64 `json:"lower,omitempty"`
	Upper  *float64 `json:"upper,omitempty"`
	Alpha  float64  `json:"alpha,omitempty"`
	Result string   `json:"result"`
	Detail string   `json:"detail,omitempty"`
}

// ReadRolloutState returns an environment's rollout state (empty when there is none)
// and its ETag ("" when there is none).
func ReadRolloutState(ctx context.Context, st store.Store, env string) (*RolloutState, string, error) {
	s := &RolloutState{Environment: env}
	etag, found, err := readJSON(ctx, st, layout.RolloutStateKey(env), s)
	if err != nil {
		return nil, "", err
	}
	if found && s.Environment != env {
		return nil, "", fmt.Errorf("publish: rollout state %s in %s names environment %q", layout.RolloutStateKey(env), st, s.Environment)
	}
	if s.Flags == nil {
		s.Flags = map[string]*FlagRollout{}
	}
	return s, etag, nil
}

// WriteRolloutState replaces an environment's rollout state if its ETag is still etag
// ("" : if there is none). A lost race returns store.ErrPreconditionFailed and writes
// nothing; the caller re-reads and decides again.
func WriteRolloutState(ctx context.Context, st store.Store, s *RolloutState, etag string) error {
	if !layout.ValidEnvironment(s.Environment) {
		return fmt.Errorf("%w %q: not a valid environment name", ErrUnknownEnvironment, s.Environment)
	}
	return writeJSON(ctx, st, layout.RolloutStateKey(s.Environment), s, casOptions(etag, etag != ""))
}

// ErrUnknownPlan: the pointer names a rollout plan that is not in the store.
var ErrUnknownPlan = errors.New("publish: unknown rollout plan")

// ReadPlan returns the rollout plan an environment's pointer names, or nil when it names
// none (published before plans existed, or by a publisher that gave none).
func ReadPlan(ctx context.Context, st store.Store, ptr *Pointer) ([]byte, error) {
	if ptr == nil || ptr.Plan == "" {
		return nil, nil
	}
	obj, err := st.Get(ctx, layout.PlanKey(ptr.Environment, ptr.Plan), store.GetOptions{})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w %s: %s is not in %s", ErrUnknownPlan, ptr.Plan, layout.PlanKey(ptr.Environment, ptr.Plan), st)
	}
	if err != nil {
		return nil, err
	}
	if PlanHash(obj.Data) != ptr.Plan {
		return nil, fmt.Errorf("publish: %w: %s does not hash to its name", ErrUnknownPlan, obj.Key)
	}
	return obj.Data, nil
}

// PlanHash names a plan's bytes: the hex SHA-256.
func PlanHash(plan []byte) string {
	sum := sha256.Sum256(plan)
	return hex.EncodeToString(sum[:])
}

// applyRollouts sets what each flag's rollout state serves: its stage's percentage of
// the fallthrough rollout or its stage's ring; a rolled-back rollout disables the flag
// (everyone gets the offVariant). Flags the state names but the snapshot lacks, and
// stages that do not fit the flag (a ring it does not have, a percentage on a split) are
// left as compiled. It reports whether anything changed.
func applyRollouts(s *snapshot.Snapshot, state *RolloutState) bool {
	if state == nil || len(state.Flags) == 0 {
		return false
	}
	changed := false
	for i := range s.Flags {
		f := &s.Flags[i]
		r := state.Flags[f.Key]
		if r == nil {
			continue
		}
		if r.Status == RolloutRolledBack && f.Enabled {
			f.Enabled = false
			changed = true
		}
		switch {
		case r.Serve.Percentage != nil:
			if f.Rollout.Kind != snapshot.ServeVariant {
				continue
			}
			p := portionFor(*r.Serve.Percentage, f.Rollout.Portion.BucketBy)
			if !samePortion(f.Rollout.Portion, p) {
				f.Rollout.Portion = p
				changed = true
			}
		case r.Serve.Ring != "":
			for j := range f.Rings {
				if f.Rings[j].Name == r.Serve.Ring {
					if f.ReleaseRing != j {
						f.ReleaseRing = j
						changed = true
					}
					break
				}
			}
		}
	}
	return changed
}

// portionFor is the portion of a percentage, bucketing on the given attribute, as the
// compiler builds it for `percentage:`.
func portionFor(percentage float64, bucketBy int) snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(percentage), BucketBy: bucketBy}
}

func samePortion(a, b snapshot.Portion) bool {
	return a.Kind == b.Kind && a.Threshold == b.Threshold && a.BucketBy == b.BucketBy && len(a.Steps) == 0 && len(b.Steps) == 0
}

// ServeRollouts republishes an environment's current base with the rollout state of
// the given version (or a later one) and the current kill state. It changes nothing when
// the pointer was already made from that version or a later one, so it is safe to call
// again after a crash or by two controllers at once. The rollout controller calls it
// after each state change that alters what is served.
func (p *Publisher) ServeRollouts(ctx context.Context, env string, version int64) (*Result, error) {
	return p.move(ctx, env, "", func(cur *Pointer) (string, []string, bool, error) {
		if cur == nil {
			return "", nil, false, fmt.Errorf("%w %q: nothing published to it in %s", ErrUnknownEnvironment, env, p.Store)
		}
		return cur.Base, cur.History, cur.RolloutStateVersion >= version, nil
	})
}
