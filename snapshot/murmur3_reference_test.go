//go:build !race

// The reference implementation reads words through unsafe pointers that the race
// detector's pointer checks refuse, so these tests, which hold the byte-wise hash of
// race builds to it, run without it.

package snapshot

import (
	"strings"
	"testing"

	spaolacci "github.com/spaolacci/murmur3"
)

func TestMurmur3MatchesReference(t *testing.T) {
	keys := []string{"", "a", "ab", "abc", "abcd", "abcde", "user-42", "ünïcödé-7", "用户-1", strings.Repeat("x", 1001)}
	for _, key := range keys {
		for _, seed := range []uint32{0, 1, 0x9747b28c, SeedFor("new-checkout-flow")} {
			if got, want := murmur3Bytewise(key, seed), spaolacci.Sum32WithSeed([]byte(key), seed); got != want {
				t.Errorf("murmur3Bytewise(%q, %#x) = %#x, want %#x", key, seed, got, want)
			}
		}
	}
}

// FuzzMurmur3 holds murmur3 to the reference implementation.
// go test ./snapshot -run '^$' -fuzz FuzzMurmur3
func FuzzMurmur3(f *testing.F) {
	f.Add("user-42", uint32(7))
	f.Fuzz(func(t *testing.T, key string, seed uint32) {
		if got, want := murmur3Bytewise(key, seed), spaolacci.Sum32WithSeed([]byte(key), seed); got != want {
			t.Fatalf("murmur3Bytewise(%q, %#x) = %#x, want %#x", key, seed, got, want)
		}
	})
}
