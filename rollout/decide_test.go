package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
)

// TestDecide covers every branch of the guide's should_continue_rollout and the rules
// around it: errors roll back, latency pauses, missing data never proceeds, small samples
// decide nothing, and only criteria that held for the whole stage proceed.
func TestDecide(t *testing.T) {
	stage := rollout.Stage{Duration: rollout.Duration(30 * time.Minute)}
	last := rollout.Stage{Infinite: true}
	check := func(metric, onFail, result string) publish.CriterionCheck {
		return publish.CriterionCheck{Metric: metric, Threshold: "<= baseline * 1.1", OnFail: onFail, Result: result, Detail: result}
	}
	holds := check("error_rate", rollout.OnFailRollback, publish.CheckHolds)
	tests := []struct {
		name    string
		stage   rollout.Stage
		checks  []publish.CriterionCheck
		elapsed time.Duration
		last    bool
		want    string
		reason  string
	}{
		{"error rate up: rollback", stage, []publish.CriterionCheck{check("error_rate", rollout.OnFailRollback, publish.CheckViolated), holds}, 5 * time.Minute, false, publish.DecisionRollback, "error_rate"},
		{"latency up: pause", stage, []publish.CriterionCheck{holds, check("p99_latency", rollout.OnFailPause, publish.CheckViolated)}, 5 * time.Minute, false, publish.DecisionPause, "p99_latency"},
		{"both: rollback wins", stage, []publish.CriterionCheck{check("p99_latency", rollout.OnFailPause, publish.CheckViolated), check("error_rate", "", publish.CheckViolated)}, time.Minute, false, publish.DecisionRollback, "error_rate"},
		{"absolute error threshold: rollback", stage, []publish.CriterionCheck{{Metric: "error_rate", Threshold: "< 0.5%", OnFail: rollout.OnFailRollback, Result: publish.CheckViolated}}, time.Minute, false, publish.DecisionRollback, "< 0.5%"},
		{"metrics unreachable: pause", stage, []publish.CriterionCheck{check("error_rate", rollout.OnFailRollback, publish.CheckError)}, time.Minute, false, publish.DecisionPause, "metrics unavailable"},
		{"healthy mid-stage: hold", stage, []publish.CriterionCheck{holds}, 10 * time.Minute, false, publish.DecisionHold, "duration"},
		{"healthy after the stage: proceed", stage, []publish.CriterionCheck{holds}, 30 * time.Minute, false, publish.DecisionProceed, "held"},
		{"healthy after the last finite stage: complete", stage, []publish.CriterionCheck{holds}, 31 * time.Minute, true, publish.DecisionComplete, "last"},
		{"no criteria after the stage: proceed", stage, nil, 30 * time.Minute, false, publish.DecisionProceed, "no criteria"},
		{"no data mid-stage: hold", stage, []publish.CriterionCheck{check("error_rate", "", publish.CheckNoData)}, time.Minute, false, publish.DecisionHold, "no-data"},
		{"no data after the stage: pause", stage, []publish.CriterionCheck{check("error_rate", "", publish.CheckNoData)}, 30 * time.Minute, false, publish.DecisionPause, "no data"},
		{"too few samples after the stage: hold", stage, []publish.CriterionCheck{check("error_rate", "", publish.CheckTooFewData)}, 40 * time.Minute, false, publish.DecisionHold, "samples"},
		{"failing estimate, not significant: hold", stage, []publish.CriterionCheck{check("error_rate", "", publish.CheckInconclusive)}, 35 * time.Minute, false, publish.DecisionHold, "not conclusive"},
		{"failing estimate after twice the duration: pause", stage, []publish.CriterionCheck{check("error_rate", "", publish.CheckInconclusive)}, 60 * time.Minute, false, publish.DecisionPause, "twice"},
		{"infinite last stage: monitor", last, []publish.CriterionCheck{holds}, 48 * time.Hour, true, publish.DecisionHold, "monitoring"},
		{"infinite last stage still rolls back", last, []publish.CriterionCheck{check("error_rate", "", publish.CheckViolated)}, 48 * time.Hour, true, publish.DecisionRollback, "error_rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := rollout.Decide(tt.stage, tt.checks, tt.elapsed, tt.last)
			if v.Action != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("Decide = %s (%q), want %s with %q", v.Action, v.Reason, tt.want, tt.reason)
			}
		})
	}
}
