package compiler

// maxEditLen bounds the work of EditDistance: words longer than this are too long to be
// typos of each other worth suggesting, and their distance is reported as the longer length.
const maxEditLen = 64

// EditDistance returns the Levenshtein distance between a and b, counted in bytes: the
// number of single-byte insertions, deletions and substitutions that turn a into b. It is
// what every "did you mean" of the compiler (and of the command line, for flag keys) uses.
func EditDistance(a, b string) int {
	if len(a) > maxEditLen || len(b) > maxEditLen {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
