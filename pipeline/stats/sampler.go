package stats

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
)

// HashID returns a well-mixed 64-bit hash of id: FNV-1a 64 followed by the
// SplitMix64/Murmur3 finaliser, so that ids differing only in their last
// characters still spread over the whole range. The same id always gets
// the same hash, across processes and refreshes.
func HashID(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id)) // hash.Hash.Write never fails
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// HashThreshold returns the hash threshold that keeps a fraction of ids:
// an id is kept when HashID(id) < threshold. fraction is clamped to
// [0, 1]; 1 keeps everything (threshold math.MaxUint64 also keeps all but
// the id whose hash is exactly MaxUint64, a 2⁻⁶⁴ event).
func HashThreshold(fraction float64) uint64 {
	switch {
	case !(fraction > 0):
		return 0
	case fraction >= 1:
		return math.MaxUint64
	}
	return uint64(fraction * (1 << 64))
}

// KeepByHash reports whether id falls in the deterministic sample that
// keeps the given fraction of ids. Because the decision depends only on
// the id, the same events are chosen on every refresh and in every
// process, and a sample at a smaller fraction is a subset of one at a
// larger fraction.
func KeepByHash(id string, fraction float64) bool {
	if fraction >= 1 {
		return true
	}
	return HashID(id) < HashThreshold(fraction)
}

// SampleIDs returns the indices (ascending) of at most maxSize ids chosen
// deterministically: it keeps the ids whose HashID is below a threshold,
// where the threshold is the maxSize-th smallest hash (bottom-k sampling).
// Repeated ids are kept or dropped together. All ids are kept when there
// are at most maxSize. As more ids arrive the threshold can only fall, so
// an id dropped once is never picked up later and the sample for a larger
// set is drawn from the same hash order. The returned threshold is the
// exclusive cut-off used (math.MaxUint64 when everything was kept).
func SampleIDs(ids []string, maxSize int) ([]int, uint64, error) {
	if maxSize < 0 {
		return nil, 0, fmt.Errorf("sample ids: negative max size %d", maxSize)
	}
	if len(ids) <= maxSize {
		idx := make([]int, len(ids))
		for i := range idx {
			idx[i] = i
		}
		return idx, math.MaxUint64, nil
	}
	if maxSize == 0 {
		return []int{}, 0, nil
	}
	hashes := make([]uint64, len(ids))
	for i, id := range ids {
		hashes[i] = HashID(id)
	}
	sorted := slices.Clone(hashes)
	slices.Sort(sorted)
	// Keep hashes strictly below the first hash that would overflow
	// maxSize; duplicates of that hash are all dropped.
	threshold := sorted[maxSize]
	out := make([]int, 0, maxSize)
	for i, h := range hashes {
		if h < threshold {
			out = append(out, i)
		}
	}
	return out, threshold, nil
}
