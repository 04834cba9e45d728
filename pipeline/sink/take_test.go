package sink

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A batch past MaxAge is handed to the flusher at the next record unless
// more than MaxRows records are still unread in Kafka: the records of the
// fetch being taken are in memory, not a backlog, however many they are.
func TestCatchingUpCountsOnlyUnreadRecords(t *testing.T) {
	for _, tc := range []struct {
		name     string
		unread   int64 // records in the partition beyond this fetch
		wantRows int   // rows of the batch handed over; 0: none handed over
	}{
		{"a full fetch, nothing unread", 0, 2},
		{"a few unread", 500, 2},
		{"more than MaxRows unread", 5000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			cfg.MaxRows, cfg.MaxAge = 1000, time.Second
			s := &Sink{cfg: cfg, m: newMetrics(nil), seen: newRecentIDs(1 << 12)}
			ctx := context.Background()
			cur := newBatch()
			require.NoError(t, s.accept(ctx, cur, &kgo.Record{Partition: 0, Offset: 0, Value: benchWire(0)}))
			cur.first = time.Now().Add(-3 * cfg.MaxAge / 2) // past MaxAge, far from maxBehindAge
			// One fetch of 600 records: more than MaxRows/4.
			recs := make([]*kgo.Record, 600)
			for i := range recs {
				recs[i] = &kgo.Record{Partition: 0, Offset: int64(1 + i), Value: benchWire(1 + i)}
			}
			fetches := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: cfg.Topic, Partitions: []kgo.FetchPartition{
				{Partition: 0, HighWatermark: int64(len(recs)) + 1 + tc.unread, Records: recs},
			}}}}}
			flushes := make(chan *batch, 1)
			next, err := s.take(ctx, fetches, cur, map[int]int64{}, map[int]prometheus.Gauge{}, &backlog{lag: map[int]int64{}}, flushes, newBatch)
			require.NoError(t, err)
			select {
			case b := <-flushes:
				assert.Equal(t, tc.wantRows, b.rows.len(), "rows of the batch handed over")
				assert.Equal(t, 601-tc.wantRows, next.rows.len(), "rows of the next batch")
			default:
				assert.Zero(t, tc.wantRows, "no batch was handed over")
				assert.Equal(t, 601, next.rows.len())
			}
		})
	}
}

// A batch is full at MaxRows while the sink keeps up and at BehindRows
// (when set above MaxRows) while more than MaxRows records are unread:
// larger inserts exactly when the sink is catching up.
func TestBatchesGrowToBehindRowsWhileCatchingUp(t *testing.T) {
	for _, tc := range []struct {
		name       string
		behindRows int
		unread     int64
		want       []int // rows of the batches handed over
	}{
		{"keeping up: MaxRows", 0, 0, []int{100, 100, 100, 100, 100, 100}},
		{"catching up: MaxRows by default", 0, 5000, []int{100, 100, 100, 100, 100, 100}},
		{"catching up: BehindRows", 400, 5000, []int{400}},
		{"catching up: BehindRows, twice", 250, 5000, []int{250, 250}},
		{"catching up: BehindRows below MaxRows is MaxRows", 10, 5000, []int{100, 100, 100, 100, 100, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			cfg.MaxRows, cfg.BehindRows, cfg.MaxAge = 100, tc.behindRows, time.Hour
			require.NoError(t, cfg.Validate())
			s := &Sink{cfg: cfg, m: newMetrics(nil), seen: newRecentIDs(1 << 12)}
			recs := make([]*kgo.Record, 601)
			for i := range recs {
				recs[i] = &kgo.Record{Partition: 0, Offset: int64(i), Value: benchWire(i)}
			}
			fetches := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: cfg.Topic, Partitions: []kgo.FetchPartition{
				{Partition: 0, HighWatermark: int64(len(recs)) + tc.unread, Records: recs},
			}}}}}
			flushes := make(chan *batch, 10)
			next, err := s.take(context.Background(), fetches, newBatch(), map[int]int64{}, map[int]prometheus.Gauge{}, &backlog{lag: map[int]int64{}}, flushes, newBatch)
			require.NoError(t, err)
			close(flushes)
			var got []int
			total := next.rows.len()
			for b := range flushes {
				got = append(got, b.rows.len())
				total += b.rows.len()
			}
			assert.Equal(t, tc.want, got, "rows of the batches handed over")
			assert.Equal(t, len(recs), total, "every record in a batch")
		})
	}
}

// A batch past MaxAge is handed over while fewer than AgeInserts inserts
// are in flight; otherwise it keeps growing (the other slots are for full
// batches). AgeInserts above Inserts is refused.
func TestAgeInsertsBoundsAgeFlushesInFlight(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		ageInserts, inFlight int32
		handed               bool
	}{
		{"none in flight", 1, 0, true},
		{"one in flight, AgeInserts 1", 1, 1, false},
		{"one in flight, AgeInserts 2", 2, 1, true},
		{"two in flight, AgeInserts 2", 2, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			cfg.MaxRows, cfg.MaxAge, cfg.AgeInserts = 1000, time.Second, int(tc.ageInserts)
			require.NoError(t, cfg.Validate())
			s := &Sink{cfg: cfg, m: newMetrics(nil), seen: newRecentIDs(1 << 12)}
			s.inFlight.Store(tc.inFlight)
			ctx := context.Background()
			cur := newBatch()
			require.NoError(t, s.accept(ctx, cur, &kgo.Record{Partition: 0, Offset: 0, Value: benchWire(0)}))
			cur.first = time.Now().Add(-3 * cfg.MaxAge / 2)
			fetches := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: cfg.Topic, Partitions: []kgo.FetchPartition{
				{Partition: 0, HighWatermark: 2, Records: []*kgo.Record{{Partition: 0, Offset: 1, Value: benchWire(1)}}},
			}}}}}
			flushes := make(chan *batch, 1)
			_, err := s.take(ctx, fetches, cur, map[int]int64{}, map[int]prometheus.Gauge{}, &backlog{lag: map[int]int64{}}, flushes, newBatch)
			require.NoError(t, err)
			assert.Equal(t, tc.handed, len(flushes) == 1, "handed over")
		})
	}
	cfg := NewDefaultConfig()
	cfg.AgeInserts = cfg.Inserts + 1
	assert.ErrorContains(t, cfg.Validate(), "age_inserts")
}

// The batch made right after a full one is handed over starts with the
// full one's size: the size is noted before the handover, not by the
// flusher once it has the batch (too late for the batch made at once).
func TestNextBatchStartsWithTheHandedOverSize(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.MaxRows = 1000
	s := &Sink{cfg: cfg, m: newMetrics(nil), seen: newRecentIDs(1 << 12)}
	recs := make([]*kgo.Record, 1500)
	for i := range recs {
		recs[i] = &kgo.Record{Partition: 0, Offset: int64(i), Value: benchWire(i)}
	}
	fetches := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: cfg.Topic, Partitions: []kgo.FetchPartition{
		{Partition: 0, HighWatermark: int64(len(recs)), Records: recs},
	}}}}}
	flushes := make(chan *batch, 1)
	var made *batch
	next := func() *batch { // as Run's: a new batch the size of the largest handed over
		made = newBatch()
		made.rows.reserve(s.sizes.get())
		return made
	}
	cur, err := s.take(context.Background(), fetches, newBatch(), map[int]int64{}, map[int]prometheus.Gauge{}, &backlog{lag: map[int]int64{}}, flushes, next)
	require.NoError(t, err)
	full := <-flushes
	require.Equal(t, 1000, full.rows.len())
	require.Same(t, made, cur)
	assert.GreaterOrEqual(t, cap(cur.rows.offsets), 1000, "the next batch's row capacity")
	assert.GreaterOrEqual(t, cap(cur.rows.bufs[0]), len(full.rows.bufs[0]), "the next batch's event_id bytes")
}
