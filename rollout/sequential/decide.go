package sequential

import (
	"fmt"
	"math"
)

// Comparison is a criterion's operator: the criterion holds when "new <comparison>
// reference" is true. Its values are the strings of rollout.Criterion.Comparison, so
// Comparison(criterion.Comparison) converts one (check it with Valid).
type Comparison string

// Comparisons.
const (
	Less           Comparison = "<"
	LessOrEqual    Comparison = "<="
	Greater        Comparison = ">"
	GreaterOrEqual Comparison = ">="
)

// Valid reports whether c is one of the four comparisons.
func (c Comparison) Valid() bool {
	switch c {
	case Less, LessOrEqual, Greater, GreaterOrEqual:
		return true
	}
	return false
}

// Verdict is what the data say about one criterion at one look.
type Verdict int

// Verdicts. The zero value is Inconclusive.
const (
	// Inconclusive: the interval straddles the threshold; keep collecting.
	Inconclusive Verdict = iota
	// Holds: the interval lies entirely on the passing side of the threshold: significant
	// evidence that the criterion holds.
	Holds
	// Violated: the interval lies entirely on the failing side: significant evidence that
	// the criterion does not hold (a regression); the stage fails.
	Violated
)

// String returns "inconclusive", "holds" or "violated".
func (v Verdict) String() string {
	switch v {
	case Inconclusive:
		return "inconclusive"
	case Holds:
		return "holds"
	case Violated:
		return "violated"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Decide reads an always-valid interval for Delta = new - reference against a criterion
// "new <comparison> reference", i.e. "Delta <comparison> 0". Violated when every Delta in
// the interval fails the criterion, Holds when every one passes it, Inconclusive
// otherwise. For "<" and "<=" only iv.Lower can show a violation and only iv.Upper a
// pass (and the mirror for ">" and ">="), so each verdict errs with probability at most
// the level of the side it reads.
func Decide(c Comparison, iv Interval) (Verdict, error) {
	if math.IsNaN(iv.Lower) || math.IsNaN(iv.Upper) || iv.Lower > iv.Upper {
		return Inconclusive, fmt.Errorf("sequential: invalid interval [%v, %v]", iv.Lower, iv.Upper)
	}
	var violated, holds bool
	switch c {
	case Less: // holds iff Delta < 0
		violated, holds = iv.Lower >= 0, iv.Upper < 0
	case LessOrEqual: // holds iff Delta <= 0
		violated, holds = iv.Lower > 0, iv.Upper <= 0
	case Greater: // holds iff Delta > 0
		violated, holds = iv.Upper <= 0, iv.Lower > 0
	case GreaterOrEqual: // holds iff Delta >= 0
		violated, holds = iv.Upper < 0, iv.Lower >= 0
	default:
		return Inconclusive, fmt.Errorf("sequential: unknown comparison %q (want <, <=, > or >=)", string(c))
	}
	switch {
	case violated:
		return Violated, nil
	case holds:
		return Holds, nil
	}
	return Inconclusive, nil
}

// Default relative effects for Test.RelativeEffect: the smallest change worth detecting,
// as a fraction of the criterion's reference value.
const (
	// DefaultRatioEffect: error and conversion rates are small and noisy; a rate 50%
	// off its limit is the regression a rollout must catch quickly.
	DefaultRatioEffect = 0.5
	// DefaultMeanEffect: means (latency, revenue per user) move less; 5% of the
	// reference, the margin of a typical ">= baseline * 0.95".
	DefaultMeanEffect = 0.05
)

// Test is the always-valid test of one criterion during one stage.
type Test struct {
	// Comparison is the criterion's operator.
	Comparison Comparison
	// Alpha is this test's share of the rollout's false rollback budget, from
	// AlphaPerTest; in (0, 0.5).
	Alpha float64
	// RelativeEffect is the smallest effect worth detecting as a fraction of the
	// estimate's Reference (DefaultRatioEffect, DefaultMeanEffect); > 0. It tunes the
	// mixing variance (TauSquared of RelativeEffect*|Reference|), which changes how fast
	// effects of each size are detected, not the error rate.
	RelativeEffect float64
}

// Result is the outcome of one look.
type Result struct {
	Verdict Verdict
	// Interval is the always-valid interval for Delta, each side at level Alpha.
	Interval Interval
	// Tau2 is the mixing variance used.
	Tau2 float64
}

// Check decides the criterion on the stage's data so far. The mixing variance is tuned to
// an effect of RelativeEffect*|e.Reference|; while the reference is 0 (no old-variant
// event yet, or a zero threshold) it falls back to an effect of one standard error of the
// estimate, sqrt(e.Variance).
func (t Test) Check(e Estimate) (Result, error) {
	if !t.Comparison.Valid() {
		return Result{}, fmt.Errorf("sequential: unknown comparison %q (want <, <=, > or >=)", string(t.Comparison))
	}
	if !finite(t.RelativeEffect) || t.RelativeEffect <= 0 {
		return Result{}, fmt.Errorf("sequential: relative effect %v must be a positive number", t.RelativeEffect)
	}
	if !finite(e.Reference) {
		return Result{}, fmt.Errorf("sequential: reference %v is not a finite number", e.Reference)
	}
	if err := checkInputs(e, 1); err != nil {
		return Result{}, err
	}
	effect := t.RelativeEffect * math.Abs(e.Reference)
	if effect == 0 {
		effect = math.Sqrt(e.Variance)
	}
	tau2, err := TauSquared(effect, t.Alpha)
	if err != nil {
		return Result{}, err
	}
	iv, err := ConfidenceSequence(e, t.Alpha, tau2)
	if err != nil {
		return Result{}, err
	}
	v, err := Decide(t.Comparison, iv)
	if err != nil {
		return Result{}, err
	}
	return Result{Verdict: v, Interval: iv, Tau2: tau2}, nil
}

// AlphaPerTest splits a rollout's false rollback budget, 1 - confidence (confidence in
// (0.5, 1), e.g. 0.95), over its tests: tests is the number of criteria decided with the
// sequential test summed over all stages (a criterion present in three stages counts
// three times; KindValue criteria, which use a different rule, do not count). Each test
// gets (1 - confidence)/tests (Bonferroni): a false rollback needs at least one test to
// err, so the union bound keeps the whole rollout's rate at or below 1 - confidence
// whatever the dependence between criteria measured on the same requests.
func AlphaPerTest(confidence float64, tests int) (float64, error) {
	if !(confidence > 0.5 && confidence < 1) {
		return 0, fmt.Errorf("sequential: confidence %v must be in (0.5, 1)", confidence)
	}
	if tests < 1 {
		return 0, fmt.Errorf("sequential: %d tests: a rollout with sequential criteria has at least one", tests)
	}
	return (1 - confidence) / float64(tests), nil
}
