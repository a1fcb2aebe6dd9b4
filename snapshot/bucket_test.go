package snapshot

import "testing"

// TestMurmur3Vectors checks MurmurHash3_x86_32 against published test vectors.
func TestMurmur3Vectors(t *testing.T) {
	tests := []struct {
		key  string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"", 0xffffffff, 0x81f16f39},
		{"\xff\xff\xff\xff", 0, 0x76293b50},
		{"!Ce\x87", 0, 0xf55b516b},
		{"!Ce\x87", 0x5082edee, 0x2362f9de},
		{"!Ce", 0, 0x7e4a8634},
		{"!C", 0, 0xa0f7b07a},
		{"!", 0, 0x72661cf4},
		{"\x00\x00\x00\x00", 0, 0x2362f9de},
		{"aaaa", 0x9747b28c, 0x5a97808a},
		{"Hello, world!", 0x9747b28c, 0x24884cba},
		{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd},
	}
	for _, tt := range tests {
		if got := murmur3(tt.key, tt.seed); got != tt.want {
			t.Errorf("murmur3(%q, %#x) = %#x, want %#x", tt.key, tt.seed, got, tt.want)
		}
	}
}

// TestBucketIsStable pins bucketing version 1: changing these numbers re-buckets every
// user of every flag.
func TestBucketIsStable(t *testing.T) {
	tests := []struct {
		salt, key string
		bucket    uint32
	}{
		{"new-checkout-flow", "user-42", 464255},
		{"search", "user-1", 831354},
		{"checkout", "ünïcödé-7", 264472},
		{"a", "", 51118},
	}
	for _, tt := range tests {
		if got := Bucket(SeedFor(tt.salt), tt.key); got != tt.bucket {
			t.Errorf("Bucket(%q, %q) = %d, want %d", tt.salt, tt.key, got, tt.bucket)
		}
		if got := BucketBytes(SeedFor(tt.salt), []byte(tt.key)); got != tt.bucket {
			t.Errorf("BucketBytes(%q, %q) = %d, want %d", tt.salt, tt.key, got, tt.bucket)
		}
	}
}
