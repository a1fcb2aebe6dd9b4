package sequential

import (
	"fmt"
	"math"
)

// Interval is an always-valid confidence sequence for Delta at one look.
//
// Lower is a one-sided lower bound at level alpha: the probability that Delta < Lower at
// any look of the stage, however many, is at most alpha. Upper is the mirror upper bound.
// Each side alone is what a one-sided criterion needs; the two together cover Delta with
// probability at least 1 - 2*alpha.
type Interval struct {
	Lower float64
	Upper float64
}

// ConfidenceSequence returns the normal-mixture confidence sequence of an Estimate at the
// current look, each side at level alpha (0 < alpha < 0.5), with mixing variance tau2 (see
// TauSquared). tau2 should be fixed for the stage; Test.Check derives it from the
// estimated reference, a mild dependence on the data that the simulations cover.
//
// With V = e.Variance, the mixture of Gaussian likelihood ratios over a half-normal prior
// on the effect (scale tau2) is, for an estimate d above the tested value,
//
//	M(d) = 2*Phi(d*tau/s) * sqrt(V/(V+tau2)) * exp(d^2*tau2/(2*s^2)),  s^2 = V*(V+tau2),
//
// a nonnegative martingale under the null hypothesis, so by Ville's inequality it reaches
// 1/alpha with probability at most alpha over all looks. Lower and Upper are
// e.Delta -/+ r where M(r) = 1/alpha. The two-sided (symmetric normal prior) form drops the
// factor 2*Phi and gives the closed form r = sqrt((V(V+tau2)/tau2) * (2 ln(1/alpha) +
// ln((V+tau2)/V))), which, read as one-sided, is conservative: it spends alpha on each
// side. The one-sided r lies between that radius at level 2*alpha and at level alpha, and
// is found by Newton's method.
func ConfidenceSequence(e Estimate, alpha, tau2 float64) (Interval, error) {
	if err := checkInputs(e, tau2); err != nil {
		return Interval{}, err
	}
	if !(alpha > 0 && alpha < 0.5) {
		return Interval{}, fmt.Errorf("sequential: alpha %v must be in (0, 0.5)", alpha)
	}
	r := oneSidedRadius(e.Variance, tau2, alpha)
	return Interval{Lower: e.Delta - r, Upper: e.Delta + r}, nil
}

// TwoSidedRadius is the half-width of the two-sided normal-mixture confidence sequence
// at level alpha: sqrt((V(V+tau2)/tau2) * (2 ln(1/alpha) + ln((V+tau2)/V))), V the
// variance of the estimate. It is given for comparison and for callers that need both
// bounds at once at level alpha; ConfidenceSequence uses the narrower one-sided form.
func TwoSidedRadius(variance, alpha, tau2 float64) (float64, error) {
	if err := checkInputs(Estimate{Variance: variance}, tau2); err != nil {
		return 0, err
	}
	if !(alpha > 0 && alpha < 1) {
		return 0, fmt.Errorf("sequential: alpha %v must be in (0, 1)", alpha)
	}
	return math.Sqrt((variance + variance*variance/tau2) * (2*math.Log(1/alpha) + math.Log1p(tau2/variance))), nil
}

// MixtureLikelihoodRatio is the one-sided mixture likelihood ratio M of the evidence that
// Delta > 0 (see ConfidenceSequence): the criterion "Delta <= 0" is rejected at level
// alpha exactly when M >= 1/alpha, and 1/M (capped at 1) is the always-valid p-value of
// the current look. For the evidence that Delta < 0, pass the Estimate with Delta negated.
// It may be +Inf for overwhelming evidence.
func MixtureLikelihoodRatio(e Estimate, tau2 float64) (float64, error) {
	if err := checkInputs(e, tau2); err != nil {
		return 0, err
	}
	v := e.Variance
	u := e.Delta * math.Sqrt(tau2/(v*(v+tau2)))
	return math.Exp(math.Ln2 + logPhi(u) - 0.5*math.Log1p(tau2/v) + u*u/2), nil
}

// TauSquared returns the mixing variance that makes the one-sided boundary reach an
// effect of the given size (in Delta's units, > 0) with the fewest samples at level
// alpha. Writing x = tau2/V for the sample size V at which the boundary first equals the
// effect, the boundary's (level 2*alpha two-sided) radius is minimal at
// x = 2 ln(1/(2 alpha)) + ln(1+x), so tau2 = effect^2 * x/(1+x): a mixing standard
// deviation slightly below the effect itself (0.95 of it at alpha = 0.01). A tau2 tuned
// to a small effect detects large ones a little later and vice versa; the error rate does
// not depend on it.
func TauSquared(effect, alpha float64) (float64, error) {
	if !finite(effect) || effect <= 0 {
		return 0, fmt.Errorf("sequential: effect %v must be a positive number", effect)
	}
	if !(alpha > 0 && alpha < 0.5) {
		return 0, fmt.Errorf("sequential: alpha %v must be in (0, 0.5)", alpha)
	}
	c := 2 * math.Log(1/(2*alpha))
	x := c + 1
	for range 100 { // a contraction (slope 1/(1+x) < 1): a handful of steps suffice
		next := c + math.Log1p(x)
		if math.Abs(next-x) <= 1e-12*x {
			x = next
			break
		}
		x = next
	}
	return effect * effect * x / (1 + x), nil
}

func checkInputs(e Estimate, tau2 float64) error {
	switch {
	case !finite(e.Delta):
		return fmt.Errorf("sequential: delta %v is not a finite number", e.Delta)
	case !finite(e.Variance) || e.Variance <= 0:
		return fmt.Errorf("sequential: variance %v must be a positive number", e.Variance)
	case !finite(tau2) || tau2 <= 0:
		return fmt.Errorf("sequential: mixing variance tau2 %v must be a positive number", tau2)
	}
	return nil
}

// oneSidedRadius solves M(r) = 1/alpha for r. With u = r*tau/s the equation is
// g(u) = u^2/2 + ln Phi(u) = ln(1/alpha) + ln((V+tau2)/V)/2 - ln 2; g is increasing and
// convex for u > 0, and g(sqrt(2a)) = a + ln Phi(sqrt(2a)) >= target because
// Phi >= 1/2 there, so Newton's method from sqrt(2a) descends monotonically onto the root.
func oneSidedRadius(v, tau2, alpha float64) float64 {
	a := math.Log(1/alpha) + 0.5*math.Log1p(tau2/v)
	target := a - math.Ln2
	u := math.Sqrt(2 * a)
	for range 100 {
		g := u*u/2 + logPhi(u) - target
		step := g / (u + mills(u))
		u -= step
		if step <= 1e-13*u {
			break
		}
	}
	return u * math.Sqrt(v+v*v/tau2)
}

// logPhi is ln of the standard normal distribution function.
func logPhi(u float64) float64 {
	if u < -37 {
		// Asymptotic form; erfc underflows below about -38.
		return -u*u/2 - math.Log(-u) - 0.5*math.Log(2*math.Pi)
	}
	return math.Log(0.5 * math.Erfc(-u/math.Sqrt2))
}

// mills is phi(u)/Phi(u), the inverse Mills ratio of the standard normal, for u >= 0.
func mills(u float64) float64 {
	return math.Exp(-u*u/2) / math.Sqrt(2*math.Pi) / (0.5 * math.Erfc(-u/math.Sqrt2))
}
