package snapshot

import "math/bits"

// murmur3Bytewise is MurmurHash3_x86_32 (Austin Appleby) reading the key a byte at a time:
// the same hash as github.com/spaolacci/murmur3 (murmur3_reference_test.go checks it). It
// serves race-detector builds, whose pointer checks refuse that package's unsafe word
// reads.
func murmur3Bytewise(key string, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(key) &^ 3
	for i := 0; i < n; i += 4 {
		k := uint32(key[i]) | uint32(key[i+1])<<8 | uint32(key[i+2])<<16 | uint32(key[i+3])<<24
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(key) & 3 {
	case 3:
		k ^= uint32(key[n+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(key[n+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(key[n])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(len(key))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
