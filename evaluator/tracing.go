//go:build !wasip1

package evaluator

// tracing is true where Explain exists: see state.tracing.
const tracing = true
