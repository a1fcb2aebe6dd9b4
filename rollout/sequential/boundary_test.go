package sequential

import (
	"math"
	"strings"
	"testing"
)

// mixtureByQuadrature integrates the Gaussian likelihood ratio of an effect theta >= 0
// against 0 over the half-normal prior of scale tau2, numerically: an implementation
// independent of the closed form in MixtureLikelihoodRatio.
func mixtureByQuadrature(d, v, tau2 float64) float64 {
	tau := math.Sqrt(tau2)
	hi := 12 * tau
	const steps = 200000
	h := hi / steps
	var sum float64
	for i := 0; i <= steps; i++ {
		th := float64(i) * h
		f := math.Exp(th*d/v-th*th/(2*v)) * 2 * math.Exp(-th*th/(2*tau2)) / (tau * math.Sqrt(2*math.Pi))
		if i == 0 || i == steps {
			f /= 2
		}
		sum += f
	}
	return sum * h
}

func TestConfidenceSequenceSolvesTheMixture(t *testing.T) {
	for _, c := range []struct{ v, tau2, alpha float64 }{
		{1e-6, 1e-5, 0.05},
		{1e-6, 1e-5, 0.0167},
		{4e-5, 2.5e-5, 0.001},
		{1, 0.01, 0.01},  // tau far below the noise: early looks
		{1e-4, 10, 0.01}, // tau far above: late looks
		{2.5, 2.5, 0.25},
	} {
		iv, err := ConfidenceSequence(Estimate{Delta: 0.3, Variance: c.v}, c.alpha, c.tau2)
		if err != nil {
			t.Fatal(err)
		}
		r := 0.3 - iv.Lower
		if math.Abs(iv.Upper-0.3-r) > 1e-12*math.Max(r, 1) {
			t.Errorf("%+v: interval [%v, %v] not symmetric around 0.3", c, iv.Lower, iv.Upper)
		}
		// The mixture reaches exactly 1/alpha at the radius, by quadrature and closed form.
		if m := mixtureByQuadrature(r, c.v, c.tau2); math.Abs(m*c.alpha-1) > 1e-6 {
			t.Errorf("%+v: quadrature mixture at the radius %v is %v, want 1/alpha = %v", c, r, m, 1/c.alpha)
		}
		m, err := MixtureLikelihoodRatio(Estimate{Delta: r, Variance: c.v}, c.tau2)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m*c.alpha-1) > 1e-9 {
			t.Errorf("%+v: MixtureLikelihoodRatio at the radius is %v, want %v", c, m, 1/c.alpha)
		}
		// The one-sided radius lies between the two-sided radii at 2*alpha and alpha.
		lo, err := TwoSidedRadius(c.v, 2*c.alpha, c.tau2)
		if err != nil {
			t.Fatal(err)
		}
		hi, err := TwoSidedRadius(c.v, c.alpha, c.tau2)
		if err != nil {
			t.Fatal(err)
		}
		if r < lo || r > hi {
			t.Errorf("%+v: one-sided radius %v outside [%v, %v]", c, r, lo, hi)
		}
	}
}

func TestTwoSidedRadiusFormula(t *testing.T) {
	// The symmetric normal mixture sqrt(V/(V+tau2)) exp(r^2 tau2 / (2 V (V+tau2))) equals
	// 1/alpha at the radius.
	v, tau2, alpha := 3e-5, 2e-5, 0.01
	r, err := TwoSidedRadius(v, alpha, tau2)
	if err != nil {
		t.Fatal(err)
	}
	lambda := math.Sqrt(v/(v+tau2)) * math.Exp(r*r*tau2/(2*v*(v+tau2)))
	if math.Abs(lambda*alpha-1) > 1e-12 {
		t.Errorf("two-sided mixture at radius = %v, want %v", lambda, 1/alpha)
	}
}

func TestMixtureLikelihoodRatio(t *testing.T) {
	for _, d := range []float64{-0.02, -0.001, 0, 0.003, 0.01} {
		got, err := MixtureLikelihoodRatio(Estimate{Delta: d, Variance: 1e-5}, 4e-5)
		if err != nil {
			t.Fatal(err)
		}
		want := mixtureByQuadrature(d, 1e-5, 4e-5)
		if math.Abs(got/want-1) > 1e-6 {
			t.Errorf("delta %v: ratio %v, quadrature %v", d, got, want)
		}
	}
	// Overwhelming evidence is +Inf, not NaN; overwhelming counter-evidence is tiny.
	if m, _ := MixtureLikelihoodRatio(Estimate{Delta: 1, Variance: 1e-8}, 1e-4); !math.IsInf(m, 1) {
		t.Errorf("huge evidence: %v, want +Inf", m)
	}
	if m, _ := MixtureLikelihoodRatio(Estimate{Delta: -1, Variance: 1e-8}, 1e-4); !(m >= 0 && m < 1e-5) {
		t.Errorf("huge counter-evidence: %v, want almost 0", m)
	}
}

// crossingVariance is the variance of the estimate at which the one-sided boundary's
// radius equals effect: the later (smaller V) the crossing, the more samples it takes.
func crossingVariance(t *testing.T, effect, alpha, tau2 float64) float64 {
	lo, hi := effect*effect*1e-6, effect*effect
	for range 200 {
		mid := math.Sqrt(lo * hi)
		iv, err := ConfidenceSequence(Estimate{Variance: mid}, alpha, tau2)
		if err != nil {
			t.Fatal(err)
		}
		if iv.Upper > effect {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo
}

func TestTauSquaredMinimizesTheSampleSize(t *testing.T) {
	for _, alpha := range []float64{0.05, 0.0167, 0.001} {
		const effect = 0.005
		tau2, err := TauSquared(effect, alpha)
		if err != nil {
			t.Fatal(err)
		}
		if ratio := tau2 / (effect * effect); ratio < 0.8 || ratio >= 1 {
			t.Errorf("alpha %v: tau2/effect^2 = %v, want just under 1", alpha, ratio)
		}
		best := crossingVariance(t, effect, alpha, tau2)
		for _, f := range []float64{0.25, 0.5, 0.8, 1.25, 2, 4} {
			// Samples scale like 1/V: a larger crossing V is a smaller sample.
			if other := crossingVariance(t, effect, alpha, f*tau2); other > best*1.002 {
				t.Errorf("alpha %v: tau2*%v crosses at V = %v, earlier than the chosen tau2 (V = %v)", alpha, f, other, best)
			}
		}
		// Misjudging the effect by 4x costs samples, but only a moderate factor.
		if other := crossingVariance(t, effect, alpha, 16*tau2); best/other > 1.6 {
			t.Errorf("alpha %v: tau2 16x too large needs %.2fx the samples", alpha, best/other)
		}
	}
}

func TestBoundaryErrors(t *testing.T) {
	good := Estimate{Delta: 0.01, Variance: 1e-5}
	for _, c := range []struct {
		name string
		run  func() error
		want string
	}{
		{"zero variance", func() error { _, err := ConfidenceSequence(Estimate{Delta: 1}, 0.05, 1); return err }, "variance 0 must be a positive"},
		{"NaN delta", func() error {
			_, err := ConfidenceSequence(Estimate{Delta: math.NaN(), Variance: 1}, 0.05, 1)
			return err
		}, "delta NaN"},
		{"alpha 0", func() error { _, err := ConfidenceSequence(good, 0, 1); return err }, "alpha 0 must be in (0, 0.5)"},
		{"alpha 0.5", func() error { _, err := ConfidenceSequence(good, 0.5, 1); return err }, "alpha 0.5"},
		{"tau2 negative", func() error { _, err := ConfidenceSequence(good, 0.05, -1); return err }, "tau2 -1"},
		{"tau2 Inf", func() error { _, err := MixtureLikelihoodRatio(good, math.Inf(1)); return err }, "tau2 +Inf"},
		{"two-sided alpha 1", func() error { _, err := TwoSidedRadius(1, 1, 1); return err }, "alpha 1 must be in (0, 1)"},
		{"effect 0", func() error { _, err := TauSquared(0, 0.05); return err }, "effect 0 must be a positive"},
		{"effect alpha", func() error { _, err := TauSquared(1, 0.7); return err }, "alpha 0.7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
