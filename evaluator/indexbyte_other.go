//go:build !wasm

package evaluator

import "strings"

// indexByte returns the index of the first c in s, or -1.
func indexByte(s string, c byte) int { return strings.IndexByte(s, c) }
