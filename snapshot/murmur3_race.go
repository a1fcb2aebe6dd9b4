//go:build race

package snapshot

// murmur3 is MurmurHash3_x86_32. Race-detector builds hash byte-wise (the same hash as
// github.com/spaolacci/murmur3, whose unsafe word reads the detector refuses).
func murmur3(key string, seed uint32) uint32 { return murmur3Bytewise(key, seed) }
