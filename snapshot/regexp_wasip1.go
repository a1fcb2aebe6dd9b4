//go:build wasip1

package snapshot

// CompileRegexp would compile an RE2 pattern into a program for the snapshot; under
// GOOS=wasip1 it always fails. The WASM evaluator only reads snapshots, whose programs
// were compiled natively, and regexp/syntax with the Unicode tables it needs would triple
// the module's size.
func CompileRegexp(pattern string) (*Regexp, error) {
	return nil, &RegexpError{Pattern: pattern, Reason: "cannot be compiled under GOOS=wasip1: compile the snapshot natively"}
}
