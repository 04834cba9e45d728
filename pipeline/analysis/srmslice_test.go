package analysis

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/go-faster/city"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/stats"
)

// The sample-ratio check over a hash slice of the units (UnitSampleShift,
// compare beyond ~260k events) keeps its false-alarm rate: A/A runs over a
// population of 200,000 users read in the slice the 10M-event benchmark
// uses (1/64; about 3,100 users in it: the benchmark's 1.77M users put
// about 28,000 in it, which changes the check's power, not its
// false-alarm rate, and would take nine times as long), each user's cohort drawn by a flag-style bucketing hash of
// its key with a fresh salt per run (as a feature flag's fractional
// targeting does), the slice chosen as compare does (ClickHouse's
// cityHash64 of the subject, at most MaxUint64 >> shift), and the
// chi-square check of compare run on the slice's exact counts. The
// false-alarm rate must stay within alpha plus binomial noise for every
// split, at the check's own alpha (stats.DefaultSRMThreshold) and at 1%.
func TestSRMOnUnitHashSliceKeepsAlpha(t *testing.T) {
	runs := 10_000
	if testing.Short() {
		runs = 1_000
	}
	const users = 200_000
	shift := UnitSampleShift(10_000_000)
	require.Equal(t, uint(6), shift, "the benchmark's 10M events are read in a 1/64 slice")
	max := uint64(math.MaxUint64) >> shift
	// The slice depends on the unit alone: find its users once.
	var slice []string
	for i := 0; i < users; i++ {
		key := "user-" + strconv.Itoa(i)
		if city.CH64([]byte(key)) <= max {
			slice = append(slice, key)
		}
	}
	require.InDelta(t, users>>shift, len(slice), 300, "the slice holds about 1/64 of the users")
	for _, split := range []float64{0.5, 0.1, 0.01} {
		rng := rand.New(rand.NewPCG(42, uint64(split*1000)))
		var alarms, alarms01 int
		buf := make([]byte, 0, 64)
		for r := 0; r < runs; r++ {
			salt := strconv.FormatUint(rng.Uint64(), 16) + "/"
			var ctl, exp int64
			for _, key := range slice {
				buf = append(append(buf[:0], salt...), key...)
				if float64(xxhash.Sum64(buf)%10_000) < split*10_000 {
					exp++
				} else {
					ctl++
				}
			}
			res, err := stats.SRMCheck([]int64{ctl, exp}, []float64{1 - split, split}, 0)
			require.NoError(t, err)
			if res.Mismatch {
				alarms++
			}
			if res.PValue < 0.01 {
				alarms01++
			}
		}
		// alpha plus three binomial standard errors.
		limit := func(alpha float64) float64 { return alpha + 3*math.Sqrt(alpha*(1-alpha)/float64(runs)) }
		rate, rate01 := float64(alarms)/float64(runs), float64(alarms01)/float64(runs)
		t.Logf("split %.0f/%.0f, %d users in the 1/%d slice, %d A/A runs: SRM false alarms %.2f%% at alpha %.3f, %.2f%% at alpha 0.01",
			100*(1-split), 100*split, len(slice), 1<<shift, runs, 100*rate, stats.DefaultSRMThreshold, 100*rate01)
		assert.LessOrEqual(t, rate, limit(stats.DefaultSRMThreshold), "split %v at the check's alpha", split)
		assert.LessOrEqual(t, rate01, limit(0.01), "split %v at alpha 0.01", split)
		assert.LessOrEqual(t, rate, 0.01, "split %v: the target, <= 1%%", split)
	}
}
