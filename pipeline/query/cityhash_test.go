package query

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// cityHash64Strings gives what ClickHouse's cityHash64 gives for the same
// strings: the values below are `SELECT cityHash64(...)` on 18.16 and on
// chDB 26.9 (the same on both), short, empty and 64-byte-plus strings.
func TestCityHash64StringsMatchesClickHouse(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want uint64
	}{
		{[]string{"bench-live-19", "checkout", "GET /checkout"}, 454014588287170135},
		{[]string{"", "payment", "POST /pay"}, 6251144826553268028},
		{[]string{"e", "", ""}, 7814756009624534413},
		{[]string{"a-much-longer-experiment-identifier-of-sixty-four-bytes-or-more-xx", "svc", "op"}, 8103510921577554123},
		{[]string{"", "", ""}, 16900562106864959355},
	} {
		assert.Equal(t, tc.want, cityHash64Strings(tc.in...), "%q", tc.in)
	}
}
