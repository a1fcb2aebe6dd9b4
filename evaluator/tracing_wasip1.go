//go:build wasip1

package evaluator

// tracing is false under GOOS=wasip1, which has no Explain (it takes a time.Time): the
// compiler drops every tracing branch from the WASM module.
const tracing = false
