package sequential

import (
	"math"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		cmp  Comparison
		iv   Interval
		want Verdict
	}{
		// "new < ref": fails when Delta >= 0.
		{Less, Interval{0.1, 0.3}, Violated},
		{Less, Interval{0, 0.3}, Violated},
		{Less, Interval{-0.1, 0.3}, Inconclusive},
		{Less, Interval{-0.3, -0.1}, Holds},
		{Less, Interval{-0.3, 0}, Inconclusive},
		// "new <= ref": fails when Delta > 0.
		{LessOrEqual, Interval{0.1, 0.3}, Violated},
		{LessOrEqual, Interval{0, 0.3}, Inconclusive},
		{LessOrEqual, Interval{-0.3, 0}, Holds},
		{LessOrEqual, Interval{-0.3, 0.01}, Inconclusive},
		// "new > ref": fails when Delta <= 0.
		{Greater, Interval{-0.3, -0.1}, Violated},
		{Greater, Interval{-0.3, 0}, Violated},
		{Greater, Interval{0, 0.3}, Inconclusive},
		{Greater, Interval{0.1, 0.3}, Holds},
		// "new >= ref": fails when Delta < 0.
		{GreaterOrEqual, Interval{-0.3, -0.1}, Violated},
		{GreaterOrEqual, Interval{-0.3, 0}, Inconclusive},
		{GreaterOrEqual, Interval{0, 0.3}, Holds},
		{GreaterOrEqual, Interval{-0.01, 0.3}, Inconclusive},
		// Unbounded sides are fine.
		{LessOrEqual, Interval{math.Inf(-1), math.Inf(1)}, Inconclusive},
	} {
		got, err := Decide(c.cmp, c.iv)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("Decide(%q, %+v) = %v, want %v", c.cmp, c.iv, got, c.want)
		}
	}
}

func TestDecideErrors(t *testing.T) {
	if _, err := Decide("=", Interval{0, 1}); err == nil || !strings.Contains(err.Error(), `unknown comparison "="`) {
		t.Errorf("unknown comparison: %v", err)
	}
	if _, err := Decide(Less, Interval{1, 0}); err == nil || !strings.Contains(err.Error(), "invalid interval [1, 0]") {
		t.Errorf("reversed interval: %v", err)
	}
	if _, err := Decide(Less, Interval{math.NaN(), 0}); err == nil {
		t.Error("NaN interval accepted")
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{Inconclusive: "inconclusive", Holds: "holds", Violated: "violated", Verdict(7): "Verdict(7)"} {
		if got := v.String(); got != want {
			t.Errorf("%d: %q, want %q", int(v), got, want)
		}
	}
}

// TestCheckAgreesWithTheLikelihoodRatio: Check's verdict on "<=" is Violated exactly when
// the one-sided mixture likelihood ratio reaches 1/alpha.
func TestCheckAgreesWithTheLikelihoodRatio(t *testing.T) {
	test := Test{Comparison: LessOrEqual, Alpha: 0.01, RelativeEffect: DefaultRatioEffect}
	for _, newErrors := range []float64{5, 10, 15, 18, 20, 22, 25, 30, 60} {
		e, err := RatioVsBaseline(newErrors, 1000, 100, 10000, 1.1)
		if err != nil {
			t.Fatal(err)
		}
		res, err := test.Check(e)
		if err != nil {
			t.Fatal(err)
		}
		m, err := MixtureLikelihoodRatio(e, res.Tau2)
		if err != nil {
			t.Fatal(err)
		}
		if (res.Verdict == Violated) != (m >= 1/test.Alpha) {
			t.Errorf("%v new errors: verdict %v but likelihood ratio %v (threshold %v)", newErrors, res.Verdict, m, 1/test.Alpha)
		}
		wantTau2, _ := TauSquared(0.5*0.011, 0.01)
		if !near(res.Tau2, wantTau2) {
			t.Errorf("tau2 %v, want %v", res.Tau2, wantTau2)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		test Test
		e    func() (Estimate, error)
		want Verdict
	}{
		{"doubled error rate", Test{LessOrEqual, 0.0167, DefaultRatioEffect},
			func() (Estimate, error) { return RatioVsBaseline(80, 4000, 800, 80000, 1.1) }, Violated},
		{"equal error rates, early", Test{LessOrEqual, 0.0167, DefaultRatioEffect},
			func() (Estimate, error) { return RatioVsBaseline(6, 600, 114, 11400, 1.1) }, Inconclusive},
		{"equal error rates, a day of traffic", Test{LessOrEqual, 0.0167, DefaultRatioEffect},
			func() (Estimate, error) { return RatioVsBaseline(8640, 864000, 8640, 864000, 1.1) }, Holds},
		{"below an absolute limit", Test{Less, 0.0167, DefaultRatioEffect},
			func() (Estimate, error) { return RatioVsConstant(10, 20000, 0.005) }, Holds},
		{"no errors yet anywhere: falls back to the standard error", Test{LessOrEqual, 0.0167, DefaultRatioEffect},
			func() (Estimate, error) { return RatioVsBaseline(0, 600, 0, 11400, 1.1) }, Inconclusive},
		{"revenue down 20%", Test{GreaterOrEqual, 0.0167, DefaultMeanEffect},
			func() (Estimate, error) {
				return MeanVsBaseline(Moments{Count: 200000, Sum: 480000, SumOfSquares: 200000 * 180, HasSumOfSquares: true},
					Moments{Count: 200000, Sum: 600000, SumOfSquares: 200000 * 180, HasSumOfSquares: true}, 0.95)
			}, Violated},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := c.e()
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.test.Check(e)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != c.want {
				t.Errorf("verdict %v (interval [%g, %g]), want %v", res.Verdict, res.Interval.Lower, res.Interval.Upper, c.want)
			}
			if !(res.Interval.Lower <= e.Delta && e.Delta <= res.Interval.Upper) {
				t.Errorf("interval [%g, %g] does not contain the estimate %g", res.Interval.Lower, res.Interval.Upper, e.Delta)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	e := Estimate{New: 0.02, Reference: 0.01, Delta: 0.01, Variance: 1e-5}
	for _, c := range []struct {
		name string
		test Test
		e    Estimate
		want string
	}{
		{"comparison", Test{"==", 0.01, 0.5}, e, `unknown comparison "=="`},
		{"alpha", Test{Less, 0.6, 0.5}, e, "alpha 0.6 must be in (0, 0.5)"},
		{"alpha zero", Test{Less, 0, 0.5}, e, "alpha 0 must be in"},
		{"effect", Test{Less, 0.01, 0}, e, "relative effect 0 must be a positive"},
		{"variance", Test{Less, 0.01, 0.5}, Estimate{Reference: 0.01, Delta: 0.01}, "variance 0 must be a positive"},
		{"reference", Test{Less, 0.01, 0.5}, Estimate{Reference: math.NaN(), Delta: 0.01, Variance: 1}, "reference NaN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.test.Check(c.e)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestAlphaPerTest(t *testing.T) {
	for _, c := range []struct {
		confidence float64
		tests      int
		want       float64
		err        string
	}{
		{0.95, 1, 0.05, ""},
		{0.95, 3, 0.05 / 3, ""},
		{0.99, 10, 0.001, ""},
		{0.95, 0, 0, "0 tests"},
		{0.5, 1, 0, "confidence 0.5 must be in (0.5, 1)"},
		{1, 1, 0, "confidence 1 must be"},
		{math.NaN(), 1, 0, "confidence NaN"},
	} {
		got, err := AlphaPerTest(c.confidence, c.tests)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("AlphaPerTest(%v, %d): error %v, want %q", c.confidence, c.tests, err, c.err)
			}
			continue
		}
		if err != nil || !near(got, c.want) {
			t.Errorf("AlphaPerTest(%v, %d) = %v, %v; want %v", c.confidence, c.tests, got, err, c.want)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	test := Test{Comparison: LessOrEqual, Alpha: 0.05 / 6, RelativeEffect: DefaultRatioEffect}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e, err := RatioVsBaseline(float64(60+i%7), 6000, 1140, 114000, 1.1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := test.Check(e); err != nil {
			b.Fatal(err)
		}
	}
}
