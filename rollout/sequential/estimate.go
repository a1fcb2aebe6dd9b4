package sequential

import (
	"errors"
	"fmt"
	"math"
)

// Estimate is the estimated difference between the new variant's metric and the value a
// criterion compares it with, and the variance of that estimate.
type Estimate struct {
	// New is the new variant's metric (a rate as a fraction, or a mean).
	New float64
	// Reference is what New is compared with: k times the old variant's metric for a
	// baseline criterion, the constant for an absolute one.
	Reference float64
	// Delta is New - Reference.
	Delta float64
	// Variance is the variance of Delta as an estimator (not of one observation): it
	// shrinks like 1/n as the stage collects requests.
	Variance float64
}

// ErrNoVariance: a mean metric shows no variation at all yet (every observation in both
// groups equal, e.g. no revenue so far), so the uncertainty of its estimate is unknown.
// The controller should treat the criterion as inconclusive and look again later.
var ErrNoVariance = errors.New("sequential: the metric shows no variation yet, its variance is unknown")

// RatioVsBaseline estimates Delta = newEvents/newTrials - k*oldEvents/oldTrials for a
// ratio metric (errors per request, conversions per impression) against the old variant's
// rate times k (k = 1.1 for "<= baseline * 1.1").
//
// Counts are float64 because monitoring systems return them so (Prometheus increase()
// extrapolates); they must be finite, 0 <= events <= trials and trials > 0. The variance
// is p(1-p)/n per group, with each p taken as (events+1)/(trials+2) (Agresti and Caffo
// 2000: one added success and one added failure per group), so that a group without any
// event so far does not claim zero variance. Delta itself uses the plain rates.
func RatioVsBaseline(newEvents, newTrials, oldEvents, oldTrials, k float64) (Estimate, error) {
	if err := checkFactor(k); err != nil {
		return Estimate{}, err
	}
	pn, vn, err := rate("new", newEvents, newTrials)
	if err != nil {
		return Estimate{}, err
	}
	po, vo, err := rate("old", oldEvents, oldTrials)
	if err != nil {
		return Estimate{}, err
	}
	ref := k * po
	return Estimate{New: pn, Reference: ref, Delta: pn - ref, Variance: vn + k*k*vo}, nil
}

// RatioVsConstant estimates Delta = events/trials - c for a ratio metric against an
// absolute threshold c, a fraction in [0, 1] (0.005 for "< 0.5%"). Counts and variance are
// as for RatioVsBaseline.
func RatioVsConstant(events, trials, c float64) (Estimate, error) {
	if math.IsNaN(c) || c < 0 || c > 1 {
		return Estimate{}, fmt.Errorf("sequential: ratio threshold %v is not a fraction in [0, 1]", c)
	}
	p, v, err := rate("new", events, trials)
	if err != nil {
		return Estimate{}, err
	}
	return Estimate{New: p, Reference: c, Delta: p - c, Variance: v}, nil
}

// rate returns a group's rate and the variance of that rate (with the Agresti-Caffo
// adjustment).
func rate(group string, events, trials float64) (p, variance float64, err error) {
	switch {
	case !finite(events) || !finite(trials):
		return 0, 0, fmt.Errorf("sequential: %s variant: counts must be finite (events %v, trials %v)", group, events, trials)
	case trials <= 0:
		return 0, 0, fmt.Errorf("sequential: %s variant: no trials (%v)", group, trials)
	case events < 0:
		return 0, 0, fmt.Errorf("sequential: %s variant: negative event count %v", group, events)
	case events > trials:
		return 0, 0, fmt.Errorf("sequential: %s variant: %v events out of %v trials (more events than trials: the two queries disagree)", group, events, trials)
	}
	pa := (events + 1) / (trials + 2)
	return events / trials, pa * (1 - pa) / trials, nil
}

// Moments are the sums a mean metric's queries return for one variant over the stage.
type Moments struct {
	// Count is the number of observations (requests, users); it must be positive.
	Count float64
	// Sum is the sum of the observations; the metric is Sum/Count.
	Sum float64
	// SumOfSquares is the sum of the squared observations, used only when
	// HasSumOfSquares. With it the variance is the sample variance.
	SumOfSquares float64
	// HasSumOfSquares tells whether SumOfSquares was queried. Without it the variance of
	// one observation is taken as the mean's square (a coefficient of variation of 1, as
	// for exponential data such as latencies). That is too small for heavy-tailed metrics
	// (revenue per user, where most users spend nothing, has a coefficient of variation
	// of 3 to 10): give those a sumOfSquares query, or the test claims certainty it does
	// not have.
	HasSumOfSquares bool
}

// MeanVsBaseline estimates Delta = mean(new) - k*mean(old) for a mean metric against the
// old variant's mean times k (k = 0.95 for ">= baseline * 0.95"). The variance is
// s2new/nnew + k^2*s2old/nold with each group's per-observation variance s2 from its
// Moments. When one group shows no variation yet (all its observations equal) it borrows
// the other group's per-observation variance, as both variants serve the same population;
// when neither does, the error is ErrNoVariance.
func MeanVsBaseline(newMoments, oldMoments Moments, k float64) (Estimate, error) {
	if err := checkFactor(k); err != nil {
		return Estimate{}, err
	}
	mn, sn, err := moments("new", newMoments)
	if err != nil {
		return Estimate{}, err
	}
	mo, so, err := moments("old", oldMoments)
	if err != nil {
		return Estimate{}, err
	}
	switch {
	case sn == 0 && so == 0:
		return Estimate{}, ErrNoVariance
	case sn == 0:
		sn = so
	case so == 0:
		so = sn
	}
	ref := k * mo
	return Estimate{
		New:       mn,
		Reference: ref,
		Delta:     mn - ref,
		Variance:  sn/newMoments.Count + k*k*so/oldMoments.Count,
	}, nil
}

// MeanVsConstant estimates Delta = mean - c for a mean metric against an absolute
// threshold c (in the metric's unit, e.g. milliseconds). The variance is s2/n, s2 from the
// Moments; no variation at all is ErrNoVariance.
func MeanVsConstant(m Moments, c float64) (Estimate, error) {
	if !finite(c) {
		return Estimate{}, fmt.Errorf("sequential: threshold %v is not a finite number", c)
	}
	mean, s2, err := moments("new", m)
	if err != nil {
		return Estimate{}, err
	}
	if s2 == 0 {
		return Estimate{}, ErrNoVariance
	}
	return Estimate{New: mean, Reference: c, Delta: mean - c, Variance: s2 / m.Count}, nil
}

// moments returns a group's mean and per-observation variance.
func moments(group string, m Moments) (mean, s2 float64, err error) {
	switch {
	case !finite(m.Count) || !finite(m.Sum) || (m.HasSumOfSquares && !finite(m.SumOfSquares)):
		return 0, 0, fmt.Errorf("sequential: %s variant: moments must be finite (count %v, sum %v, sumOfSquares %v)", group, m.Count, m.Sum, m.SumOfSquares)
	case m.Count <= 0:
		return 0, 0, fmt.Errorf("sequential: %s variant: no observations (count %v)", group, m.Count)
	}
	mean = m.Sum / m.Count
	if !m.HasSumOfSquares {
		return mean, mean * mean, nil
	}
	switch {
	case m.Count < 2:
		return 0, 0, fmt.Errorf("sequential: %s variant: a sample variance needs 2 observations, have %v", group, m.Count)
	case m.SumOfSquares < 0:
		return 0, 0, fmt.Errorf("sequential: %s variant: negative sumOfSquares %v", group, m.SumOfSquares)
	}
	centered := m.SumOfSquares - m.Sum*mean
	// Rounding makes the centered sum slightly negative for (nearly) constant data; a
	// clearly negative one means the three queries do not describe the same observations.
	if centered < -1e-9*m.SumOfSquares-1e-300 {
		return 0, 0, fmt.Errorf("sequential: %s variant: sumOfSquares %v is below sum^2/count %v (the sum, count and sumOfSquares queries disagree)", group, m.SumOfSquares, m.Sum*mean)
	}
	return mean, math.Max(centered, 0) / (m.Count - 1), nil
}

func checkFactor(k float64) error {
	if !finite(k) || k <= 0 {
		return fmt.Errorf("sequential: baseline factor %v must be a positive number", k)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
