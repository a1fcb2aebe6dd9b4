package main

import (
	"math/bits"
	"time"
)

// histogram counts latencies in log-linear buckets: exact below 128 ns, then 64 buckets per
// power of two, so any recorded value is within 1/64 (1.6%) of its bucket's bounds. It
// takes a fixed 32 KiB however long the run, and the exact maximum is kept aside.
type histogram struct {
	counts [histogramBuckets]uint64
	total  uint64
	max    time.Duration
}

const (
	subBits          = 7 // 128 exact values, then 64 sub-buckets per power of two
	histogramBuckets = (64 - subBits + 2) << (subBits - 1)
)

// bucketOf returns the bucket of v nanoseconds.
func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - subBits
	return e<<(subBits-1) + int(v>>e)
}

// bucketMiddle returns the middle of bucket i's range, in nanoseconds.
func bucketMiddle(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	e := i>>(subBits-1) - 1
	low := uint64(i-e<<(subBits-1)) << e
	return low + (uint64(1)<<e)/2
}

// record adds one latency.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.total++
	if d > h.max {
		h.max = d
	}
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the latency below which a fraction q (0..1) of the recorded ones fall:
// the middle of the bucket holding the rank ceil(q*total), never above the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q * float64(h.total))
	if float64(rank) < q*float64(h.total) || rank == 0 {
		rank++
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketMiddle(i)), h.max)
		}
	}
	return h.max
}
