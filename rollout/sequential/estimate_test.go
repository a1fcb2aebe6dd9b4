package sequential

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestRatioEstimates(t *testing.T) {
	// Agresti-Caffo variance of one group: p = (x+1)/(n+2), p(1-p)/n.
	ac := func(x, n float64) float64 { p := (x + 1) / (n + 2); return p * (1 - p) / n }
	for _, c := range []struct {
		name string
		got  func() (Estimate, error)
		want Estimate
	}{
		{"baseline k=1.1", func() (Estimate, error) { return RatioVsBaseline(20, 1000, 100, 10000, 1.1) },
			Estimate{New: 0.02, Reference: 0.011, Delta: 0.009, Variance: ac(20, 1000) + 1.21*ac(100, 10000)}},
		{"baseline no events yet", func() (Estimate, error) { return RatioVsBaseline(0, 600, 0, 11400, 1) },
			Estimate{New: 0, Reference: 0, Delta: 0, Variance: ac(0, 600) + ac(0, 11400)}},
		{"baseline fractional counts", func() (Estimate, error) { return RatioVsBaseline(2.5, 500.5, 10, 1000, 0.9) },
			Estimate{New: 2.5 / 500.5, Reference: 0.009, Delta: 2.5/500.5 - 0.009, Variance: ac(2.5, 500.5) + 0.81*ac(10, 1000)}},
		{"constant", func() (Estimate, error) { return RatioVsConstant(3, 1000, 0.005) },
			Estimate{New: 0.003, Reference: 0.005, Delta: -0.002, Variance: ac(3, 1000)}},
		{"constant all events", func() (Estimate, error) { return RatioVsConstant(1000, 1000, 0.99) },
			Estimate{New: 1, Reference: 0.99, Delta: 0.01, Variance: ac(1000, 1000)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.got()
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.New, c.want.New) || !near(got.Reference, c.want.Reference) || !near(got.Delta, c.want.Delta) || !near(got.Variance, c.want.Variance) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			if got.Variance <= 0 {
				t.Errorf("variance %v, want positive", got.Variance)
			}
		})
	}
}

func TestMeanEstimates(t *testing.T) {
	// Sample of 4: 1, 2, 3, 6 -> sum 12, sum of squares 50, mean 3, s2 = (50-36)/3.
	sample := Moments{Count: 4, Sum: 12, SumOfSquares: 50, HasSumOfSquares: true}
	s2 := 14.0 / 3
	old := Moments{Count: 10, Sum: 20, SumOfSquares: 60, HasSumOfSquares: true} // mean 2, s2 = 20/9
	zeros := Moments{Count: 5, Sum: 0, SumOfSquares: 0, HasSumOfSquares: true}
	for _, c := range []struct {
		name string
		got  func() (Estimate, error)
		want Estimate
	}{
		{"baseline with squares", func() (Estimate, error) { return MeanVsBaseline(sample, old, 0.95) },
			Estimate{New: 3, Reference: 1.9, Delta: 1.1, Variance: s2/4 + 0.9025*(20.0/9)/10}},
		{"baseline without squares: cv 1", func() (Estimate, error) {
			return MeanVsBaseline(Moments{Count: 4, Sum: 12}, Moments{Count: 10, Sum: 20}, 1)
		}, Estimate{New: 3, Reference: 2, Delta: 1, Variance: 9.0/4 + 4.0/10}},
		{"baseline: a group without variation borrows the other's", func() (Estimate, error) { return MeanVsBaseline(zeros, old, 1) },
			Estimate{New: 0, Reference: 2, Delta: -2, Variance: (20.0/9)/5 + (20.0/9)/10}},
		{"constant", func() (Estimate, error) { return MeanVsConstant(sample, 2.5) },
			Estimate{New: 3, Reference: 2.5, Delta: 0.5, Variance: s2 / 4}},
		{"constant without squares", func() (Estimate, error) { return MeanVsConstant(Moments{Count: 100, Sum: -250}, -3) },
			Estimate{New: -2.5, Reference: -3, Delta: 0.5, Variance: 6.25 / 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.got()
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.New, c.want.New) || !near(got.Reference, c.want.Reference) || !near(got.Delta, c.want.Delta) || !near(got.Variance, c.want.Variance) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestNoVariance(t *testing.T) {
	zeros := Moments{Count: 5, Sum: 0, SumOfSquares: 0, HasSumOfSquares: true}
	if _, err := MeanVsBaseline(zeros, zeros, 1); !errors.Is(err, ErrNoVariance) {
		t.Errorf("both groups constant: %v, want ErrNoVariance", err)
	}
	if _, err := MeanVsConstant(Moments{Count: 5}, 1); !errors.Is(err, ErrNoVariance) {
		t.Errorf("zero mean without squares: %v, want ErrNoVariance", err)
	}
	// Identical values up to rounding are no variation, not an error.
	v := 0.1
	if _, err := MeanVsConstant(Moments{Count: 3, Sum: v + v + v, SumOfSquares: v*v + v*v + v*v, HasSumOfSquares: true}, 0); !errors.Is(err, ErrNoVariance) {
		t.Errorf("constant 0.1s: %v, want ErrNoVariance", err)
	}
}

func TestEstimateErrors(t *testing.T) {
	ok := Moments{Count: 10, Sum: 5, SumOfSquares: 5, HasSumOfSquares: true}
	for _, c := range []struct {
		name string
		run  func() error
		want string
	}{
		{"no trials", func() error { _, err := RatioVsBaseline(0, 0, 1, 10, 1); return err }, "new variant: no trials (0)"},
		{"old no trials", func() error { _, err := RatioVsBaseline(0, 10, 0, 0, 1); return err }, "old variant: no trials"},
		{"negative events", func() error { _, err := RatioVsConstant(-1, 10, 0.1); return err }, "negative event count -1"},
		{"events above trials", func() error { _, err := RatioVsBaseline(1, 10, 11, 10, 1); return err }, "old variant: 11 events out of 10 trials"},
		{"NaN count", func() error { _, err := RatioVsConstant(math.NaN(), 10, 0.1); return err }, "counts must be finite"},
		{"Inf trials", func() error { _, err := RatioVsConstant(1, math.Inf(1), 0.1); return err }, "counts must be finite"},
		{"factor 0", func() error { _, err := RatioVsBaseline(1, 10, 1, 10, 0); return err }, "baseline factor 0 must be a positive"},
		{"factor NaN", func() error { _, err := MeanVsBaseline(ok, ok, math.NaN()); return err }, "baseline factor NaN"},
		{"ratio threshold above 1", func() error { _, err := RatioVsConstant(1, 10, 5); return err }, "ratio threshold 5 is not a fraction"},
		{"mean threshold Inf", func() error { _, err := MeanVsConstant(ok, math.Inf(-1)); return err }, "threshold -Inf is not a finite"},
		{"no observations", func() error { _, err := MeanVsConstant(Moments{Count: 0, Sum: 1}, 1); return err }, "new variant: no observations (count 0)"},
		{"one observation with squares", func() error {
			_, err := MeanVsBaseline(ok, Moments{Count: 1, Sum: 1, SumOfSquares: 1, HasSumOfSquares: true}, 1)
			return err
		}, "old variant: a sample variance needs 2 observations, have 1"},
		{"negative squares", func() error {
			_, err := MeanVsConstant(Moments{Count: 3, Sum: 1, SumOfSquares: -1, HasSumOfSquares: true}, 1)
			return err
		}, "negative sumOfSquares -1"},
		{"inconsistent squares", func() error {
			_, err := MeanVsConstant(Moments{Count: 2, Sum: 10, SumOfSquares: 40, HasSumOfSquares: true}, 1)
			return err
		}, "sumOfSquares 40 is below sum^2/count 50"},
		{"NaN sum", func() error { _, err := MeanVsConstant(Moments{Count: 2, Sum: math.NaN()}, 1); return err }, "moments must be finite"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
