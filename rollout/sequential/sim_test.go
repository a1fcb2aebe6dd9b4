package sequential

import (
	"flag"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The simulations replay whole rollouts minute by minute, the way the controller checks
// them, and count how often a rule fails a stage. `go test ./rollout/sequential -run
// Simulation -v` prints the numbers; -long runs 10 times more rollouts (the numbers in
// docs/rollouts.md).
var long = flag.Bool("long", false, "simulate 10x more rollouts (about a minute)")

// simStage is one stage of the simulated rollout.
type simStage struct {
	percent float64 // of traffic on the new variant
	minutes int
}

// The simulated rollout: 200 requests/s, stages 5% for 30 min, 25% for 60 min and 50% for
// 60 min, a check every minute once both groups have MinSamples requests, one criterion
// in every stage (3 tests: the whole rollout's 5% budget split in three).
var (
	simStages            = []simStage{{5, 30}, {25, 60}, {50, 60}}
	simPerMinute         = 200 * 60
	simMinSamples        = 500.0
	simConfidence        = 0.95
	simTests             = 3
	simSeed       uint64 = 20240917
)

// simGroup is one variant's cumulative data in the current stage.
type simGroup struct {
	trials, events, sum, sumSq float64
}

// scenario is a simulated world and criterion.
type scenario struct {
	name string
	// sample adds n requests of one variant's minute to g.
	sample func(r *rand.Rand, n int, isNew bool, g *simGroup)
	// estimate builds the criterion's Estimate from the stage's cumulative data.
	estimate   func(newG, oldG simGroup) (Estimate, error)
	comparison Comparison
	effect     float64
	// minSamples and perMinute override simMinSamples and simPerMinute when set.
	minSamples float64
	perMinute  int
	// naiveMin is the false rollback rate the re-run z-test must at least reach, to show
	// the contrast (0: no check).
	naiveMin float64
}

// outcome is the first failed check of one rollout under one rule.
type outcome struct {
	failed      bool
	stage       int
	minute      int     // minutes since the stage started
	newRequests float64 // new-variant requests in the stage at that check
}

// rule decides one check.
type rule func(c Comparison, e Estimate, alpha float64) bool

// mixtureRule is the package's always-valid test.
func mixtureRule(effect float64) rule {
	return func(c Comparison, e Estimate, alpha float64) bool {
		res, err := Test{Comparison: c, Alpha: alpha, RelativeEffect: effect}.Check(e)
		if err != nil {
			panic(err)
		}
		return res.Verdict == Violated
	}
}

// naiveRule is a one-sided fixed-sample z-test at the same alpha, re-run on every check:
// what a controller without sequential statistics would do.
func naiveRule(c Comparison, e Estimate, alpha float64) bool {
	z := e.Delta / math.Sqrt(e.Variance)
	crit := math.Sqrt2 * math.Erfinv(1-2*alpha) // the (1-alpha) normal quantile
	if c == Less || c == LessOrEqual {
		return z > crit
	}
	return z < -crit
}

// simulate runs one rollout and returns, for each rule, its first failed check.
func simulate(r *rand.Rand, sc scenario, alpha float64, rules []rule) []outcome {
	out := make([]outcome, len(rules))
	minSamples := simMinSamples
	if sc.minSamples > 0 {
		minSamples = sc.minSamples
	}
	for si, st := range simStages {
		var ng, og simGroup
		perMinute := simPerMinute
		if sc.perMinute > 0 {
			perMinute = sc.perMinute
		}
		nNew := int(math.Round(float64(perMinute) * st.percent / 100))
		nOld := perMinute - nNew
		for m := 1; m <= st.minutes; m++ {
			sc.sample(r, nNew, true, &ng)
			sc.sample(r, nOld, false, &og)
			if ng.trials < minSamples || og.trials < minSamples {
				continue
			}
			e, err := sc.estimate(ng, og)
			if err == ErrNoVariance {
				continue
			}
			if err != nil {
				panic(err)
			}
			for i, rl := range rules {
				if !out[i].failed && rl(sc.comparison, e, alpha) {
					out[i] = outcome{failed: true, stage: si, minute: m, newRequests: ng.trials}
				}
			}
		}
	}
	return out
}

// runMany simulates n rollouts with independent, deterministic streams.
func runMany(sc scenario, n int, rules []rule) [][]outcome {
	alpha, err := AlphaPerTest(simConfidence, simTests)
	if err != nil {
		panic(err)
	}
	res := make([][]outcome, len(rules))
	for i := range n {
		r := rand.New(rand.NewPCG(simSeed, uint64(i)))
		for j, o := range simulate(r, sc, alpha, rules) {
			res[j] = append(res[j], o)
		}
	}
	return res
}

func failureRate(os []outcome) float64 {
	f := 0
	for _, o := range os {
		if o.failed {
			f++
		}
	}
	return float64(f) / float64(len(os))
}

func reps(n int) int {
	if *long {
		return 10 * n
	}
	return n
}

// binomial draws Binomial(n, p): exactly by inversion while n*p is small, else by the
// normal approximation (n*p >= 200, where it is accurate to well under a percent).
func binomial(r *rand.Rand, n int, p float64) int {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if mean := float64(n) * p; mean >= 200 {
		k := math.Round(mean + r.NormFloat64()*math.Sqrt(mean*(1-p)))
		return int(math.Min(math.Max(k, 0), float64(n)))
	}
	u := r.Float64()
	pk := math.Pow(1-p, float64(n))
	cdf := pk
	k := 0
	for u > cdf && k < n {
		pk *= float64(n-k) / float64(k+1) * p / (1 - p)
		k++
		cdf += pk
	}
	return k
}

// ratioWorld is an error-rate world: each request fails with the variant's rate.
func ratioWorld(newRate, oldRate float64) func(*rand.Rand, int, bool, *simGroup) {
	return func(r *rand.Rand, n int, isNew bool, g *simGroup) {
		p := oldRate
		if isNew {
			p = newRate
		}
		g.trials += float64(n)
		g.events += float64(binomial(r, n, p))
	}
}

func vsBaseline(k float64) func(simGroup, simGroup) (Estimate, error) {
	return func(ng, og simGroup) (Estimate, error) {
		return RatioVsBaseline(ng.events, ng.trials, og.events, og.trials, k)
	}
}

func vsConstant(c float64) func(simGroup, simGroup) (Estimate, error) {
	return func(ng, _ simGroup) (Estimate, error) {
		return RatioVsConstant(ng.events, ng.trials, c)
	}
}

// revenueWorld: each request converts with probability conv[variant] and a conversion
// spends an exponential amount of mean 30 (revenue per request: mean 30*conv, coefficient
// of variation about 4.4 at 10% conversion).
func revenueWorld(newConv, oldConv float64) func(*rand.Rand, int, bool, *simGroup) {
	const meanOrder = 30.0
	return func(r *rand.Rand, n int, isNew bool, g *simGroup) {
		q := oldConv
		if isNew {
			q = newConv
		}
		g.trials += float64(n)
		for range binomial(r, n, q) {
			x := r.ExpFloat64() * meanOrder
			g.sum += x
			g.sumSq += x * x
		}
	}
}

func meanVsBaseline(k float64, squares bool) func(simGroup, simGroup) (Estimate, error) {
	return func(ng, og simGroup) (Estimate, error) {
		return MeanVsBaseline(
			Moments{Count: ng.trials, Sum: ng.sum, SumOfSquares: ng.sumSq, HasSumOfSquares: squares},
			Moments{Count: og.trials, Sum: og.sum, SumOfSquares: og.sumSq, HasSumOfSquares: squares},
			k)
	}
}

// montecarloBound is the largest rate consistent with a true rate of at most p in n
// rollouts: p plus three binomial standard errors.
func montecarloBound(p float64, n int) float64 {
	return p + 3*math.Sqrt(p*(1-p)/float64(n))
}

// TestSimulationFalseRollback: with no regression (new no worse than the criterion
// allows, up to exactly on its boundary), the always-valid test fails at most 5% of whole
// rollouts (150 checks each), while a z-test re-run every minute at the same per-test
// alpha fails far more.
func TestSimulationFalseRollback(t *testing.T) {
	n := reps(2000)
	cases := []scenario{
		{name: "error_rate <= baseline*1.1, new = old = 1%", sample: ratioWorld(0.01, 0.01), estimate: vsBaseline(1.1), comparison: LessOrEqual, effect: DefaultRatioEffect},
		{name: "error_rate <= baseline*1.1, new = 1.1% = 1.1*old (boundary)", sample: ratioWorld(0.011, 0.01), estimate: vsBaseline(1.1), comparison: LessOrEqual, effect: DefaultRatioEffect, naiveMin: 0.15},
		{name: "error_rate <= baseline, new = old = 1% (boundary)", sample: ratioWorld(0.01, 0.01), estimate: vsBaseline(1), comparison: LessOrEqual, effect: DefaultRatioEffect, naiveMin: 0.15},
		{name: "error_rate < 1%, new = 1% (boundary)", sample: ratioWorld(0.01, 0.01), estimate: vsConstant(0.01), comparison: Less, effect: DefaultRatioEffect, naiveMin: 0.15},
		{name: "error_rate <= baseline*1.1, new = 1.1% = 1.1*old, 0.1% rates (few events)", sample: ratioWorld(0.0011, 0.001), estimate: vsBaseline(1.1), comparison: LessOrEqual, effect: DefaultRatioEffect, naiveMin: 0.15},
		{name: "error_rate <= baseline*1.1, new = 1.1% = 1.1*old, 0.1% rates, 5% stage with 1 req/s and MinSamples 50", sample: ratioWorld(0.0011, 0.001), estimate: vsBaseline(1.1), comparison: LessOrEqual, effect: DefaultRatioEffect, minSamples: 50, perMinute: 1200, naiveMin: 0.08},
	}
	budget := 1 - simConfidence
	bound := montecarloBound(budget, n)
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			res := runMany(sc, n, []rule{mixtureRule(sc.effect), naiveRule})
			mix, naive := failureRate(res[0]), failureRate(res[1])
			t.Logf("%d rollouts: false rollback rate %.4f (mixture test), %.4f (z-test re-run every minute); budget %.2f", n, mix, naive, budget)
			if mix > bound {
				t.Errorf("false rollback rate %.4f exceeds the %.2f budget (Monte Carlo bound %.4f)", mix, budget, bound)
			}
			// At the boundary the re-run z-test is far off: it is the reason for the method.
			if naive < sc.naiveMin {
				t.Errorf("naive re-run z-test failed only %.4f of rollouts, expected at least %.2f", naive, sc.naiveMin)
			}
		})
	}
}

// TestSimulationDetection: a doubled error rate (1% -> 2%, criterion "<= baseline * 1.1")
// is caught in the 5% stage; the test logs how long it takes, and how long the (invalid)
// re-run z-test takes, the price of validity.
func TestSimulationDetection(t *testing.T) {
	n := reps(1000)
	sc := scenario{sample: ratioWorld(0.02, 0.01), estimate: vsBaseline(1.1), comparison: LessOrEqual, effect: DefaultRatioEffect}
	res := runMany(sc, n, []rule{mixtureRule(sc.effect), naiveRule})
	for i, name := range []string{"mixture test", "z-test re-run every minute"} {
		var minutes, requests []float64
		for _, o := range res[i] {
			if o.failed && o.stage == 0 {
				minutes = append(minutes, float64(o.minute))
				requests = append(requests, o.newRequests)
			}
		}
		frac := float64(len(minutes)) / float64(n)
		t.Logf("%s, %d rollouts: caught in the 5%% stage %.4f; delay minutes median %.0f p90 %.0f max %.0f; new-variant requests median %.0f p90 %.0f",
			name, n, frac, quantile(minutes, 0.5), quantile(minutes, 0.9), quantile(minutes, 1), quantile(requests, 0.5), quantile(requests, 0.9))
		if i > 0 {
			continue
		}
		if frac < 0.99 {
			t.Errorf("a doubled error rate was caught in the 5%% stage in only %.4f of rollouts", frac)
		}
		if m := quantile(minutes, 0.9); m > 20 {
			t.Errorf("90%% of detections took up to %.0f minutes, expected under 20", m)
		}
	}
}

// TestSimulationMean: revenue per request (10% conversion, exponential orders of mean
// 30) against ">= baseline * 0.95". With no regression at the boundary (new = 0.95*old)
// the false rollback rate stays within budget; a 10% drop (conversion 10% -> 9%) is
// caught during the rollout. Without sumOfSquares the coefficient-of-variation-1 default
// underestimates this heavy-tailed metric's variance and fails healthy rollouts.
func TestSimulationMean(t *testing.T) {
	n := reps(300)
	budget := 1 - simConfidence
	cases := []struct {
		name    string
		sc      scenario
		wantMax float64 // failure rate must stay at or below (Monte Carlo bound)
		wantMin float64 // failure rate must reach at least
	}{
		{"boundary new = 0.95*old", scenario{sample: revenueWorld(0.095, 0.1), estimate: meanVsBaseline(0.95, true), comparison: GreaterOrEqual, effect: DefaultMeanEffect}, montecarloBound(budget, n), 0},
		{"10% drop", scenario{sample: revenueWorld(0.09, 0.1), estimate: meanVsBaseline(0.95, true), comparison: GreaterOrEqual, effect: DefaultMeanEffect}, 1, 0.9},
		{"boundary without sumOfSquares", scenario{sample: revenueWorld(0.095, 0.1), estimate: meanVsBaseline(0.95, false), comparison: GreaterOrEqual, effect: DefaultMeanEffect}, 1, 3 * budget},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runMany(c.sc, n, []rule{mixtureRule(c.sc.effect)})[0]
			rate := failureRate(res)
			var stages [3]int
			var minutes []float64
			total := 0
			for _, o := range res {
				if o.failed {
					stages[o.stage]++
					total = simStages[0].minutes*boolInt(o.stage > 0) + simStages[1].minutes*boolInt(o.stage > 1) + o.minute
					minutes = append(minutes, float64(total))
				}
			}
			t.Logf("%d rollouts: failed %.4f (by stage 5%%/25%%/50%%: %d/%d/%d); minutes into the rollout median %.0f p90 %.0f",
				n, rate, stages[0], stages[1], stages[2], quantile(minutes, 0.5), quantile(minutes, 0.9))
			if rate > c.wantMax {
				t.Errorf("failure rate %.4f above %.4f", rate, c.wantMax)
			}
			if rate < c.wantMin {
				t.Errorf("failure rate %.4f below %.4f", rate, c.wantMin)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// quantile is the q-quantile of xs (nearest rank), NaN when empty.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// TestBinomialSampler checks the simulations' sampler's mean and variance on both paths.
func TestBinomialSampler(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		n int
		p float64
	}{{600, 0.01}, {11400, 0.011}, {50, 0.5}, {12000, 0.1}} {
		const draws = 20000
		var s, s2 float64
		for range draws {
			k := float64(binomial(r, c.n, c.p))
			s += k
			s2 += k * k
		}
		mean := s / draws
		variance := s2/draws - mean*mean
		wantMean, wantVar := float64(c.n)*c.p, float64(c.n)*c.p*(1-c.p)
		if math.Abs(mean-wantMean) > 4*math.Sqrt(wantVar/draws) {
			t.Errorf("Binomial(%d, %v): mean %.3f, want %.3f", c.n, c.p, mean, wantMean)
		}
		if math.Abs(variance/wantVar-1) > 0.05 {
			t.Errorf("Binomial(%d, %v): variance %.3f, want %.3f", c.n, c.p, variance, wantVar)
		}
	}
}
