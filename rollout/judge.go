package rollout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout/sequential"
)

// judgeStage queries and checks every criterion of r's current stage over the stage so
// far. Observations are shared by the criteria of one metric.
func (c *Controller) judgeStage(ctx context.Context, env string, plan *Plan, fp *FlagPlan, r *publish.FlagRollout, now time.Time, obs *observer, cache *obsCache) []publish.CriterionCheck {
	stage := fp.Stages[r.Stage]
	window := now.Sub(r.StageStartedAt)
	if window < time.Second {
		window = time.Second
	}
	alpha := alphaOf(plan, fp)
	checks := make([]publish.CriterionCheck, len(stage.Criteria))
	for j, cr := range stage.Criteria {
		m := plan.Metrics[cr.Metric]
		m.Name = cr.Metric
		key := fp.Flag + "\x00" + strconv.Itoa(r.Stage) + "\x00" + r.StageStartedAt.String() + "\x00" + cr.Metric
		o := cache.get(key, func() *Observation { return obs.observe(ctx, m, env, fp, window, now) })
		failures := 0
		if r.Failures != nil {
			failures = r.Failures[j]
		}
		check, failed := judge(cr, o, fp, alpha)
		if m.Kind == KindValue {
			if failed {
				failures++
				if failures < 2 {
					check.Result = publish.CheckInconclusive
					check.Detail = "failed once; a second failed check in a row fails the stage"
				}
			} else if check.Result == publish.CheckHolds {
				failures = 0
			}
			if r.Failures == nil {
				r.Failures = map[int]int{}
			}
			r.Failures[j] = failures
		}
		checks[j] = check
	}
	return checks
}

// alphaOf is the false rollback rate allowed to each sequential test of a rollout: the
// rollout's budget, 1 - confidence, split evenly over every ratio and mean criterion of
// every stage (value criteria use the two-failures rule instead).
func alphaOf(plan *Plan, fp *FlagPlan) float64 {
	tests := 0
	for _, st := range fp.Stages {
		for _, c := range st.Criteria {
			if plan.Metrics[c.Metric].Kind != KindValue {
				tests++
			}
		}
	}
	a, err := sequential.AlphaPerTest(fp.Settings.Confidence, max(tests, 1))
	if err != nil {
		a, _ = sequential.AlphaPerTest(DefaultConfidence, max(tests, 1))
	}
	return a
}

// judge checks one criterion on an observation. failed reports a value metric whose
// estimate fails its threshold (judgeStage counts those in a row).
func judge(cr Criterion, o *Observation, fp *FlagPlan, alpha float64) (check publish.CriterionCheck, failed bool) {
	check = publish.CriterionCheck{Metric: cr.Metric, Threshold: cr.Threshold, OnFail: cr.OnFail, Alpha: alpha}
	if check.OnFail == "" {
		check.OnFail = OnFailRollback
	}
	if o.Err != nil {
		check.Result, check.Detail = publish.CheckError, o.Err.Error()
		return check, false
	}
	m := o.Metric
	newV, oldV := fp.NewVariant, fp.OldVariant
	sampleRole := QueryCount
	if m.Kind == KindRatio {
		sampleRole = QueryDenominator
	}
	nN, okN := o.value(sampleRole, newV)
	nO, okO := o.value(sampleRole, oldV)
	check.NewSamples, check.OldSamples = nN, nO
	switch {
	case !okN || nN == 0:
		check.Result, check.Detail = publish.CheckNoData, "no "+sampleRole+" for variant "+strconv.Quote(newV)
		return check, false
	case cr.Baseline && (!okO || nO == 0):
		check.Result, check.Detail = publish.CheckNoData, "no "+sampleRole+" for the baseline variant "+strconv.Quote(oldV)
		return check, false
	case nN < float64(fp.Settings.MinSamples) || (cr.Baseline && nO < float64(fp.Settings.MinSamples)):
		check.Result = publish.CheckTooFewData
		check.Detail = fmt.Sprintf("%.0f and %.0f samples, %d needed in each group", nN, nO, fp.Settings.MinSamples)
		return check, false
	}
	if m.Kind == KindValue {
		return judgeValue(cr, o, newV, oldV, check)
	}
	var est sequential.Estimate
	var err error
	effect := sequential.DefaultRatioEffect
	if m.Kind == KindRatio {
		eN, _ := o.value(QueryNumerator, newV)
		eO, _ := o.value(QueryNumerator, oldV)
		if cr.Baseline {
			est, err = sequential.RatioVsBaseline(eN, nN, eO, nO, cr.Value)
			check.Old = ptr(ratioOf(eO, nO))
		} else {
			est, err = sequential.RatioVsConstant(eN, nN, cr.Value)
			if okO && nO > 0 {
				check.Old = ptr(ratioOf(eO, nO))
			}
		}
	} else {
		effect = sequential.DefaultMeanEffect
		mN, mO := moments(o, newV), moments(o, oldV)
		if mO.Count > 0 {
			check.Old = ptr(mO.Sum / mO.Count)
		}
		if cr.Baseline {
			est, err = sequential.MeanVsBaseline(mN, mO, cr.Value)
		} else {
			est, err = sequential.MeanVsConstant(mN, cr.Value)
		}
	}
	if errors.Is(err, sequential.ErrNoVariance) {
		check.Result, check.Detail = publish.CheckInconclusive, "the metric shows no variation yet"
		return check, false
	}
	if err != nil {
		check.Result, check.Detail = publish.CheckError, err.Error()
		return check, false
	}
	check.New, check.Limit = ptr(est.New), ptr(est.Reference)
	res, err := sequential.Test{Comparison: sequential.Comparison(cr.Comparison), Alpha: alpha, RelativeEffect: effect}.Check(est)
	if err != nil {
		check.Result, check.Detail = publish.CheckError, err.Error()
		return check, false
	}
	check.Lower, check.Upper = ptr(res.Interval.Lower), ptr(res.Interval.Upper)
	switch {
	case res.Verdict == sequential.Violated:
		check.Result, check.Detail = publish.CheckViolated, "significant: the difference to the limit is in ["+num(res.Interval.Lower)+", "+num(res.Interval.Upper)+"]"
	case res.Verdict == sequential.Holds:
		check.Result, check.Detail = publish.CheckHolds, "significant"
	case passes(cr.Comparison, est.New, est.Reference):
		check.Result, check.Detail = publish.CheckHolds, "by its estimate (not significant yet)"
	default:
		check.Result, check.Detail = publish.CheckInconclusive, "the estimate fails the threshold, not significantly yet"
	}
	return check, false
}

// judgeValue compares a value metric's estimate with its threshold.
func judgeValue(cr Criterion, o *Observation, newV, oldV string, check publish.CriterionCheck) (publish.CriterionCheck, bool) {
	vN, okN := o.value(QueryValue, newV)
	vO, okO := o.value(QueryValue, oldV)
	if !okN {
		check.Result, check.Detail = publish.CheckNoData, "no value for variant "+strconv.Quote(newV)
		return check, false
	}
	check.New = ptr(vN)
	if okO {
		check.Old = ptr(vO)
	}
	limit := cr.Value
	if cr.Baseline {
		if !okO {
			check.Result, check.Detail = publish.CheckNoData, "no value for the baseline variant "+strconv.Quote(oldV)
			return check, false
		}
		limit = cr.Value * vO
	}
	check.Limit = ptr(limit)
	if passes(cr.Comparison, vN, limit) {
		check.Result = publish.CheckHolds
		return check, false
	}
	check.Result, check.Detail = publish.CheckViolated, "failed on two checks in a row"
	return check, true
}

func passes(comparison string, v, limit float64) bool {
	switch comparison {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	}
	return false
}

func moments(o *Observation, variant string) sequential.Moments {
	m := sequential.Moments{}
	m.Sum, _ = o.value(QuerySum, variant)
	m.Count, _ = o.value(QueryCount, variant)
	m.SumOfSquares, m.HasSumOfSquares = o.value(QuerySumOfSquares, variant)
	return m
}

func ratioOf(events, trials float64) float64 {
	if trials <= 0 {
		return 0
	}
	return events / trials
}

func ptr(v float64) *float64 { return &v }
