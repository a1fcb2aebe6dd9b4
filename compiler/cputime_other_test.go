//go:build !unix

package compiler

// processCPUTime is not measured on this platform.
func processCPUTime() (float64, bool) { return 0, false }
