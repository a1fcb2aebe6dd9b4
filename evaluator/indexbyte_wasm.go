//go:build wasm

package evaluator

import (
	"math/bits"
	"unsafe"
)

// indexByte returns the index of the first c in s, or -1. In the WASM module it reads s
// eight bytes at a time (WASM is little-endian and loads unaligned words): a loop a byte at
// a time costs a bounds check and a branch per byte there, and strings.IndexByte would
// cost the module about 3 KB gzip.
func indexByte(s string, c byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	pattern := uint64(c) * ones
	p := unsafe.Pointer(unsafe.StringData(s))
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := *(*uint64)(unsafe.Add(p, i)) ^ pattern // zero bytes where s has c
		// The lowest byte set in t is the first zero byte of w (a borrow can only mark
		// bytes above a zero one).
		if t := (w - ones) &^ w & highs; t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
	}
	for ; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
