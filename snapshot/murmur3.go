//go:build !race

package snapshot

import (
	"unsafe"

	spaolacci "github.com/spaolacci/murmur3"
)

// murmur3 is MurmurHash3_x86_32, from github.com/spaolacci/murmur3. Race-detector builds
// use an equivalent byte-wise implementation (murmur3_race.go) because the package's
// unsafe word reads fail the detector's pointer checks.
func murmur3(key string, seed uint32) uint32 {
	return spaolacci.Sum32WithSeed(unsafe.Slice(unsafe.StringData(key), len(key)), seed)
}
