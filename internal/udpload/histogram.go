package udpload

import "time"

// histogram counts latencies in 10 µs buckets up to 1 s; longer ones fall
// in the last bucket.
type histogram struct {
	counts []uint32
	total  uint64
}

const (
	histBucket  = 10 * time.Microsecond
	histBuckets = int(time.Second/histBucket) + 1
)

func (h *histogram) add(d time.Duration) {
	if h.counts == nil {
		h.counts = make([]uint32, histBuckets)
	}
	i := min(int(d/histBucket), histBuckets-1)
	h.counts[max(i, 0)]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	if o.total == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint32, histBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// quantile returns the upper edge of the bucket holding the q-quantile.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return time.Duration(i+1) * histBucket
		}
	}
	return time.Second
}
