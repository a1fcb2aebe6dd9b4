package sequential_test

import (
	"fmt"

	"github.com/edgeflag/edgeflag/rollout/sequential"
)

// A controller's check of "error_rate <= baseline * 1.1" during a 5% stage with two
// criteria in each of three stages, at confidence 0.95.
func Example() {
	alpha, err := sequential.AlphaPerTest(0.95, 3*2)
	if err != nil {
		panic(err)
	}
	test := sequential.Test{
		Comparison:     sequential.LessOrEqual,
		Alpha:          alpha,
		RelativeEffect: sequential.DefaultRatioEffect,
	}
	// Counts since the start of the stage: 8 minutes at 200 requests/s, 5% on the new
	// variant, which fails twice as often.
	for _, c := range []struct{ newErrors, newRequests, oldErrors, oldRequests float64 }{
		{7, 600, 112, 11400},    // minute 1
		{52, 2400, 460, 45600},  // minute 4
		{101, 4800, 905, 91200}, // minute 8
	} {
		e, err := sequential.RatioVsBaseline(c.newErrors, c.newRequests, c.oldErrors, c.oldRequests, 1.1)
		if err != nil {
			panic(err)
		}
		res, err := test.Check(e)
		if err != nil {
			panic(err)
		}
		fmt.Printf("new %.2f%% vs limit %.2f%%: delta in [%+.2f%%, %+.2f%%]: %v\n",
			100*e.New, 100*e.Reference, 100*res.Interval.Lower, 100*res.Interval.Upper, res.Verdict)
	}
	// Output:
	// new 1.17% vs limit 1.08%: delta in [-1.87%, +2.04%]: inconclusive
	// new 2.17% vs limit 1.11%: delta in [-0.03%, +2.14%]: inconclusive
	// new 2.10% vs limit 1.09%: delta in [+0.29%, +1.74%]: violated
}
