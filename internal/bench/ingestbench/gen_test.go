package main

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Path E's bodies, encoded before the run and timed at send time, are the
// bytes the generator encoded at send time before (the same request on
// the wire): probe and background bodies, sent twice at different times.
func TestTimedBodyIsTheBodyEncodedThen(t *testing.T) {
	for _, now := range []time.Time{time.Unix(1_764_500_000, 123_456_789), time.Unix(2_000_000_000, 999_999_000)} {
		seq, per := 42, 100
		// What the generator encoded at send time (before it encoded ahead).
		want := bytes.ReplaceAll(ndjson(fmt.Sprintf("lat%d", seq), 0, per, now, 1), []byte(`"GET /checkout"`), []byte(`"lat-000042"`))
		want = bytes.ReplaceAll(want, []byte(`"experiment_id":"lat42"`), []byte(`"experiment_id":"lat"`))
		probe := newTimedBody(probeBody(seq, per))
		require.Len(t, probe.times, per)
		assert.Equal(t, string(want), string(probe.at(now)))
		assert.Equal(t, string(want), string(probe.at(now)), "timed twice")

		bg := newTimedBody(ndjson("bg42", 0, 200, time.Unix(latBodyEpoch, 0), 1))
		assert.Equal(t, string(ndjson("bg42", 0, 200, now, 1)), string(bg.at(now)))
	}
	// Reused after another time, the body carries the new one.
	b := newTimedBody(ndjson("x", 0, 3, time.Unix(latBodyEpoch, 0), 1))
	b.at(time.Unix(1_900_000_000, 0))
	assert.Equal(t, string(ndjson("x", 0, 3, time.Unix(1_764_500_001, 5), 1)), string(b.at(time.Unix(1_764_500_001, 5))))
}
