package snapshot

import "unsafe"

// SeedFor returns the hash seed of a flag salt: murmur3_x86_32(salt, seed 0).
func SeedFor(salt string) uint32 {
	return murmur3(salt, 0)
}

// Bucket maps a bucketing key to a bucket in [0, BucketCount) for a flag's seed
// (bucketing version 1): (murmur3_x86_32(key, seed) * BucketCount) >> 32. It does not
// allocate.
func Bucket(seed uint32, key string) uint32 {
	return uint32((uint64(murmur3(key, seed)) * BucketCount) >> 32)
}

// BucketBytes is Bucket for a key held in a byte slice.
func BucketBytes(seed uint32, key []byte) uint32 {
	return Bucket(seed, unsafe.String(unsafe.SliceData(key), len(key)))
}

// ThresholdFor converts a percentage (0..100) to a bucket threshold, rounding to the
// nearest bucket.
func ThresholdFor(percentage float64) uint32 {
	t := percentage*BucketCount/100 + 0.5
	if t <= 0 {
		return 0
	}
	if t >= BucketCount {
		return BucketCount
	}
	return uint32(t)
}

// PercentageOf converts a bucket threshold back to a percentage.
func PercentageOf(threshold uint32) float64 {
	return float64(threshold) * 100 / BucketCount
}

// ThresholdAt returns the threshold in force at time at (Unix milliseconds).
func (p *Portion) ThresholdAt(at int64) uint32 {
	switch p.Kind {
	case PortionAll:
		return BucketCount
	case PortionPercentage:
		return p.Threshold
	}
	var t uint32
	for _, s := range p.Steps {
		if s.At > at {
			break
		}
		t = s.Threshold
	}
	return t
}

// StepAt returns the index of the schedule step in force at time at, or NoIndex before the
// first step.
func (p *Portion) StepAt(at int64) int {
	i := NoIndex
	for j, s := range p.Steps {
		if s.At > at {
			break
		}
		i = j
	}
	return i
}
