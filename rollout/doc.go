// Package rollout runs releases that move themselves: it reads the rollout plan that the
// compiler derives from a flag's `stages` and the project's `metrics`, queries each stage's
// success criteria from a metric provider (Prometheus, CloudWatch), decides PROCEED, HOLD,
// PAUSE or ROLLBACK, and records the result in the store's rollout state, which publishing
// merges into the served snapshot (a kill always wins).
//
// The plan lives in git; the runtime state of a rollout lives in the store beside the kill
// state and changes the same way: conditional writes, an audit record per decision, then a
// republish. docs/rollouts.md describes the rules and the statistics.
package rollout
