// Package sequential holds the statistics of metric-gated rollouts: always-valid
// sequential tests that a rollout controller may re-run on every check (every minute)
// without inflating its false rollback rate.
//
// A criterion compares the new variant's metric with a constant ("error_rate < 0.5%") or
// with the old variant's value times a factor k ("error_rate <= baseline * 1.1"). The
// estimators (RatioVsBaseline, RatioVsConstant, MeanVsBaseline, MeanVsConstant) turn the
// counts or moments of a stage into an Estimate of Delta = new - k*old (or new - c) with
// the variance of that estimate. ConfidenceSequence turns an Estimate into an Interval
// that covers the true Delta at every look at once, using the normal-mixture sequential
// probability ratio test (mSPRT: Robbins 1970; Johari, Koomen, Pekelis and Walsh 2017,
// "Peeking at A/B tests"; Howard, Ramdas, McAuliffe and Sekhon 2021, "Time-uniform,
// nonparametric, nonasymptotic confidence sequences"). Decide reads the Interval against
// the criterion's Comparison: Violated, Holds or Inconclusive. Test.Check does all of it
// for one criterion, choosing the mixing variance with TauSquared.
//
// The counts and moments given to the estimators must be cumulative since the start of
// the stage (the query window grows with the stage): the guarantee is over the sequence
// of looks at one growing sample, not over sliding windows.
//
// AlphaPerTest splits the rollout's false rollback budget (1 - confidence) over every
// criterion of every stage. docs/rollouts.md ("The statistics") explains the method, the
// choices and the simulated error rates and detection delays.
package sequential
