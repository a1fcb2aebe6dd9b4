package rollout

import (
	"slices"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publish"
)

// Verdict is the decision for one stage of one rollout at one check, before it is
// applied to the state.
type Verdict struct {
	Action string // publish.DecisionHold, Proceed, Complete, Pause or Rollback
	Reason string
	Checks []publish.CriterionCheck
}

// Decide applies the rules of docs/rollouts.md to a stage's checks:
//   - a provider error PAUSEs (missing metrics never proceed);
//   - a violated criterion ROLLs BACK, or PAUSEs when every violated criterion says
//     onFail: pause;
//   - before the stage's duration has passed, nothing else happens (HOLD);
//   - once it has passed: a criterion with no data at all PAUSEs (the application is
//     probably not instrumented), too few samples HOLD, an undecided test HOLDs until
//     twice the duration and then PAUSEs, and when every criterion holds the rollout
//     PROCEEDs to the next stage, or COMPLETEs after the last.
//
// elapsed is the time since the stage started; last reports whether it is the last stage.
func Decide(stage Stage, checks []publish.CriterionCheck, elapsed time.Duration, last bool) Verdict {
	v := Verdict{Action: publish.DecisionHold, Checks: checks}
	var errs, rollbacks, pauses, noData, few, undecided []string
	for _, c := range checks {
		label := c.Metric + " " + c.Threshold
		switch c.Result {
		case publish.CheckError:
			if e := c.Metric + ": " + c.Detail; !slices.Contains(errs, e) {
				errs = append(errs, e)
			}
		case publish.CheckViolated:
			if c.OnFail == OnFailPause {
				pauses = append(pauses, label+" fails ("+c.Detail+")")
			} else {
				rollbacks = append(rollbacks, label+" fails ("+c.Detail+")")
			}
		case publish.CheckNoData:
			noData = append(noData, c.Metric+": "+c.Detail)
		case publish.CheckTooFewData:
			few = append(few, c.Metric+": "+c.Detail)
		case publish.CheckInconclusive:
			undecided = append(undecided, label+": "+c.Detail)
		}
	}
	switch {
	case len(errs) > 0:
		return v.with(publish.DecisionPause, "metrics unavailable: "+strings.Join(errs, "; "))
	case len(rollbacks) > 0:
		return v.with(publish.DecisionRollback, strings.Join(append(rollbacks, pauses...), "; "))
	case len(pauses) > 0:
		return v.with(publish.DecisionPause, strings.Join(pauses, "; "))
	}
	if stage.Infinite {
		return v.with(publish.DecisionHold, "last stage: monitoring"+detailOf(noData, few, undecided))
	}
	if elapsed < time.Duration(stage.Duration) {
		return v.with(publish.DecisionHold, "stage runs until its duration has passed"+detailOf(noData, few, undecided))
	}
	switch {
	case len(noData) > 0:
		return v.with(publish.DecisionPause, "no data after the whole stage: "+strings.Join(noData, "; ")+" (is the application instrumented with the variant?)")
	case len(few) > 0:
		return v.with(publish.DecisionHold, "waiting for enough samples: "+strings.Join(few, "; "))
	case len(undecided) > 0 && elapsed >= 2*time.Duration(stage.Duration):
		return v.with(publish.DecisionPause, "criteria still fail by their estimate after twice the stage's duration: "+strings.Join(undecided, "; "))
	case len(undecided) > 0:
		return v.with(publish.DecisionHold, "not conclusive yet: "+strings.Join(undecided, "; "))
	}
	if last {
		return v.with(publish.DecisionComplete, "every criterion held for the last stage's duration")
	}
	if len(checks) == 0 {
		return v.with(publish.DecisionProceed, "the stage's duration passed (it has no criteria)")
	}
	return v.with(publish.DecisionProceed, "every criterion held for the stage's duration")
}

func (v Verdict) with(action, reason string) Verdict {
	v.Action, v.Reason = action, reason
	return v
}

func detailOf(groups ...[]string) string {
	var all []string
	for _, g := range groups {
		all = append(all, g...)
	}
	if len(all) == 0 {
		return ""
	}
	return " (" + strings.Join(all, "; ") + ")"
}
