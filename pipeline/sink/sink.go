package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/pipeline/wait"
)

// Settings carry what the sink reports to.
type Settings struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Sink consumes the events topic into ClickHouse.
type Sink struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	store *store.Client
	dlq   *bus.DeadLetterWriter
	seen  *recentIDs
	// transport carries the progress checks' admin requests; closed when
	// Run returns (see bus.NewTransport).
	transport *kafka.Transport

	mu       sync.Mutex
	maxEvent map[int]int64 // newest event time committed, per partition

	progressMu sync.Mutex // one progress check at a time (flusher, heartbeat)
	parts      []int      // the topic's partitions, cached
	partsAt    time.Time

	insertSQL   string
	progressSQL string
	// insertSettings are the ClickHouse settings of every insert query,
	// beyond the connection's own.
	insertSettings clickhouse.Settings
	// inFlight counts the batches handed to the flushers and not yet
	// committed.
	inFlight atomic.Int32
	// sizes is the largest batch handed over so far, the size a new batch
	// starts with. The side that hands a batch over notes its size first:
	// the flushers own a batch once they have it, and their note came too
	// late for the batch made right after the handover (so the second
	// batch grew from nothing too).
	sizes batchSizes
}

// New builds a sink. It does not dial; Run does.
func New(cfg Config, set Settings, st *store.Client) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sink config: %w", err)
	}
	if set.Logger == nil {
		set.Logger = slog.New(slog.DiscardHandler)
	}
	insertSQL, err := st.InsertSQL("write/events_insert.sql")
	if err != nil {
		return nil, err
	}
	progressSQL, err := st.InsertSQL("write/sink_progress_insert.sql")
	if err != nil {
		return nil, err
	}
	dlq := bus.NewDeadLetterWriter(cfg.Config)
	insertSettings := clickhouse.Settings{}
	if cfg.ParallelViews {
		insertSettings["parallel_view_processing"] = 1
	}
	return &Sink{
		cfg: cfg, log: set.Logger, m: newMetrics(set.Registry), store: st, dlq: dlq, seen: newRecentIDs(1 << 19), maxEvent: map[int]int64{},
		transport:      bus.NewTransport(),
		insertSQL:      insertSQL,
		progressSQL:    progressSQL,
		insertSettings: insertSettings,
	}, nil
}

// batch is a set of decoded rows plus, per partition, the last record it
// covers (inserted or dead-lettered): what to commit after the insert.
// Batches are recycled: their column slices, decoder arena and insert
// scratch keep their capacity, so a steady stream allocates little beyond
// the records.
type batch struct {
	rows    rows
	bytes   int
	first   time.Time
	last    map[int]*kgo.Record
	maxTime map[int]int64
	dec     telemetry.Decoder // the general decoder, for records not in the exact wire form (decodeInto)
	event   telemetry.Event   // such a record is decoded here, then added to rows
	cols    columns
	// barrier, on an otherwise empty batch, is closed by the committer
	// once every batch handed over before it is committed (see
	// handoff.revoked).
	barrier chan struct{}
	// inserted carries the outcome of the batch's insert to the committer.
	inserted chan error
}

func newBatch() *batch {
	return &batch{last: map[int]*kgo.Record{}, maxTime: map[int]int64{}, inserted: make(chan error, 1)}
}

// reset empties b for reuse and drops its references to the records.
func (b *batch) reset() {
	b.rows.reset()
	b.bytes, b.first = 0, time.Time{}
	clear(b.last)
	clear(b.maxTime)
	b.dec.Reset()
	b.event = telemetry.Event{}
}

// Run consumes until ctx is cancelled, then stops fetching, flushes and
// commits what it holds (bounded by ShutdownTimeout) and returns nil. It
// returns an error only when it cannot start or cannot finish cleanly.
func (s *Sink) Run(ctx context.Context) error {
	for _, t := range []bus.TopicSpec{s.cfg.EventsTopic(), s.cfg.DeadLetterTopicSpec()} {
		if err := bus.EnsureTopic(ctx, s.cfg.Brokers, t); err != nil {
			if ctx.Err() != nil {
				return nil // asked to stop while starting: nothing fetched, nothing to flush
			}
			return err
		}
	}
	// Up to Inserts batches are inserted while the next fills and one more
	// waits to be handed over: memory stays at about Inserts+2 batches
	// (one more recycled), and fetching pauses (the handoff blocks) when
	// all are full.
	flushes := make(chan *batch)
	// Every batch is recycled, so their slices stop growing once they have
	// the size of the largest batch; a new batch starts with that size.
	free := make(chan *batch, s.cfg.Inserts+2)
	flushDone := make(chan error, 1)
	nextBatch := func() *batch {
		select {
		case b := <-free:
			return b
		default:
			b := newBatch()
			b.rows.reserve(s.sizes.get())
			return b
		}
	}
	h := &handoff{cur: nextBatch(), flushes: flushes, next: nextBatch, sizes: &s.sizes, log: s.log, wait: revokeFlushWait}
	r, err := kgo.NewClient(append(s.consumerOpts(),
		kgo.OnPartitionsRevoked(h.revoked),
		// Lost partitions (the session expired) cannot be committed: the
		// batch holding them is inserted and its commit fails, and the new
		// owner inserts them again (deduplicated by event id).
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			s.log.Warn("partitions lost; their uncommitted rows will be read again by the new owner", "lost", lost)
		}),
	)...)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer func() {
		// Leaves the group; nothing is committed here (every commit
		// follows an insert, and the revoke that leaving calls finds the
		// handoff closed).
		r.Close()
		_ = s.dlq.Close()
		s.transport.CloseIdleConnections()
	}()

	// The flushers outlive ctx so the final batch is still inserted after a
	// SIGTERM; stopCtx bounds that tail.
	stopCtx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	startFlushers(stopCtx, s.cfg.Inserts, s.insertBatch, func(ctx context.Context, b *batch) { s.commit(ctx, r, b) },
		flushes, free, flushDone, &wg, &s.sizes, &s.inFlight, s.countDuplicates)

	lastFetch := time.Now()
	lastBeat := time.Now()
	known := map[int]int64{} // the last offset read, per partition
	lag := map[int]prometheus.Gauge{}
	backlog := backlog{lag: map[int]int64{}}
	// One fetch context per deadline, not per record: the deadline is the
	// current batch's flush time, or the heartbeat while idle.
	var fetch fetchDeadline
	defer fetch.stop()
	var loopErr error
	// The loop holds h.mu whenever it touches the filling batch; a revoke
	// takes it to flush that batch. Polls and revokes exclude each other
	// (kgo.BlockRebalanceOnPoll): the records of a poll are all in a batch
	// before AllowRebalance lets a revoke run.
	for {
		h.mu.Lock()
		cur := h.cur
		want := fetch.deadline
		// A batch is due MaxAge after its first record, or maxBehindAge
		// while the sink is catching up.
		limit := s.cfg.MaxAge
		if backlog.total > s.cfg.behindRows() {
			limit = s.cfg.maxBehindAge()
		}
		if len(cur.last) > 0 {
			want = cur.first.Add(limit)
			if now := time.Now(); !want.After(now) {
				// Overdue because the flusher is still busy: keep taking
				// records, and hand the batch over once none came for a
				// moment (then there is nothing better to do than wait).
				want = fetch.deadline
				if !want.After(now) || want.Sub(now) > overdueFetchWait {
					want = now.Add(overdueFetchWait)
				}
			}
		} else if fetch.ctx == nil || fetch.ctx.Err() != nil {
			want = time.Now().Add(s.cfg.Heartbeat)
		}
		h.mu.Unlock()
		fetchCtx := fetch.at(ctx, want)
		fetches := r.PollRecords(fetchCtx, pollRecords)
		if ctx.Err() != nil {
			r.AllowRebalance()
			break // shutdown; records polled but not inserted are not committed
		}
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				fetchErr = err
			}
		})
		if fetchErr != nil {
			s.log.Warn("fetch", "err", fetchErr)
		}
		if fetches.NumRecords() == 0 {
			r.AllowRebalance()
			if fetchErr != nil {
				time.Sleep(100 * time.Millisecond)
			}
			h.mu.Lock()
			cur = h.cur
			idle := len(cur.last) == 0
			if !idle && time.Since(cur.first) >= limit {
				s.sizes.note(cur.rows.size())
				select {
				case flushes <- cur:
					h.cur = nextBatch()
				case <-ctx.Done():
				}
			}
			h.mu.Unlock()
			if idle && time.Since(lastFetch) > s.cfg.Heartbeat && time.Since(lastBeat) > s.cfg.Heartbeat {
				s.recordProgress(ctx, known)
				lastBeat = time.Now()
			}
			continue
		}
		lastFetch = time.Now()
		h.mu.Lock()
		h.cur, loopErr = s.take(ctx, fetches, h.cur, known, lag, &backlog, flushes, nextBatch)
		h.mu.Unlock()
		r.AllowRebalance()
		if loopErr != nil {
			break
		}
	}

	// Shutdown: no more fetching; flush what we hold, then commit.
	timer := time.AfterFunc(s.cfg.ShutdownTimeout, stop)
	defer timer.Stop()
	h.mu.Lock()
	h.closed = true // a revoke from here on (leaving the group) has nothing to flush
	if len(h.cur.last) > 0 {
		flushes <- h.cur
	}
	close(flushes)
	h.mu.Unlock()
	wg.Wait()
	if err := <-flushDone; err != nil {
		return errors.Join(loopErr, err)
	}
	return loopErr
}

// batchSizes is the largest batch handed over so far, the size new
// batches start with.
type batchSizes struct {
	mu  sync.Mutex
	max rowsSize
}

func (z *batchSizes) note(size rowsSize) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.max = z.max.max(size)
}

func (z *batchSizes) get() rowsSize {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.max
}

// rebalanceTimeout is how long the group waits for every member to rejoin
// once a rebalance starts, and so how long a member may spend in its
// revoke (franz-go keeps heartbeating while the revoke runs, so the 6 s
// session timeout, which bounds how soon a dead sink's partitions move,
// does not apply to it). franz-go's default, and well above any insert
// seen: a revoke takes 0.4-1.3 s on an idle machine, but 3 s and more
// under the full test suite's load (2026-11-30), and the 6 s used before
// then threw a member out whose insert ran longer, so its commit failed
// and the new owner inserted the batch again.
const rebalanceTimeout = 60 * time.Second

// revokeFlushWait bounds how long a revoke waits for the batches it hands
// over to be inserted and committed: below rebalanceTimeout, leaving room
// for the member to learn of the rebalance (a heartbeat, 1 s) and rejoin.
// The wait ends as soon as the commit is done, so a rebalance pauses the
// group for about one insert. A batch still being inserted after that
// (ClickHouse down or stalled) is committed late or not at all, and its
// rows may be inserted again by the new owner, deduplicated by event id.
// With 3 s here (before 2026-11-30) one insert slower than that was
// enough: TestCleanRebalanceInsertsOnce stored 5,726-9,946 rows twice in
// 2 of 8 runs beside a busy ClickHouse (TestRebalanceWaitsForASlowInsert
// makes it certain).
const revokeFlushWait = 45 * time.Second

// handoff is the batch filling and the way to the flusher, shared by the
// poll loop and the revoke callback.
type handoff struct {
	mu      sync.Mutex
	cur     *batch
	closed  bool // Run is shutting down: flushes is closed
	flushes chan<- *batch
	next    func() *batch
	sizes   *batchSizes // noted before a handover (see Sink.sizes)
	log     *slog.Logger
	wait    time.Duration
}

// revoked runs when the group takes partitions away (every rebalance, with
// the eager balancers): it hands the filling batch to the flusher and
// waits until everything handed over is inserted and committed, so the
// next owner of those partitions starts after what this sink stored
// instead of inserting it again. The commit is still strictly after the
// insert: the flusher does both, in order.
func (h *handoff) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	start := time.Now()
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	if len(h.cur.last) > 0 {
		h.sizes.note(h.cur.rows.size())
		select {
		case h.flushes <- h.cur:
			h.cur = h.next()
		case <-timer.C:
			h.log.Warn("revoke: flusher busy; the batch is committed later", "revoked", revoked, "waited", time.Since(start))
			return
		case <-ctx.Done():
			return
		}
	}
	done := make(chan struct{})
	select {
	case h.flushes <- &batch{barrier: done}:
	case <-timer.C:
		h.log.Warn("revoke: flusher busy; the batch is committed later", "revoked", revoked, "waited", time.Since(start))
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
		h.log.Debug("revoke: flushed and committed", "revoked", revoked, "took", time.Since(start))
	case <-timer.C:
		h.log.Warn("revoke: insert still running; the batch is committed later", "revoked", revoked, "waited", time.Since(start))
	case <-ctx.Done():
	}
}

// pollRecords is the most records one poll returns: enough to keep the
// loop busy, few next to a batch.
const pollRecords = 10_000

// take accepts polled records into the current batch, handing batches to
// the flusher as they fill, and returns the batch now filling.
func (s *Sink) take(ctx context.Context, fetches kgo.Fetches, cur *batch, known map[int]int64, lag map[int]prometheus.Gauge,
	backlog *backlog, flushes chan<- *batch, nextBatch func() *batch) (*batch, error) {
	for i := range fetches {
		topics := fetches[i].Topics
		for t := range topics {
			parts := topics[t].Partitions
			for pi := range parts {
				fp := &parts[pi]
				partition := int(fp.Partition)
				g, ok := lag[partition]
				if !ok {
					g = s.m.lag.WithLabelValues(strconv.Itoa(partition))
					lag[partition] = g
				}
				if len(fp.Records) == 0 {
					continue
				}
				// The records still in Kafka once this fetch is taken: the
				// ones fetched are in memory, not behind. (Counted from each
				// record, a single full fetch, 16 MiB or ~29,000 typical
				// records, looked like a backlog and held every batch to
				// maxBehindAge: 5 s of ingest-to-queryable latency after
				// any hiccup at 30k events/s.)
				newest := fp.Records[len(fp.Records)-1].Offset
				unread := max(fp.HighWatermark-newest-1, 0)
				behind := backlog.update(partition, unread) > s.cfg.behindRows()
				g.Set(float64(unread))
				for _, rec := range fp.Records {
					known[partition] = rec.Offset
					if err := s.accept(ctx, cur, rec); err != nil {
						return cur, err
					}
					switch age := time.Since(cur.first); {
					case cur.rows.len() >= s.cfg.rowsCap(behind) || cur.bytes >= s.cfg.MaxBytes || age >= s.cfg.maxBehindAge():
						// Full: wait for the flusher (this bounds memory).
						s.sizes.note(cur.rows.size())
						select {
						case flushes <- cur:
							cur = nextBatch()
						case <-ctx.Done():
						}
					case age >= s.cfg.MaxAge && !behind && s.inFlight.Load() < int32(s.cfg.AgeInserts):
						// Old enough and caught up: hand over if fewer than
						// AgeInserts inserts are in flight. Otherwise this batch
						// keeps growing instead (the other insert slots are for
						// full batches): fewer, larger inserts exactly when
						// ClickHouse is the bottleneck. The fetch deadline (the
						// batch's MaxAge) flushes it as soon as records stop
						// coming.
						s.sizes.note(cur.rows.size())
						select {
						case flushes <- cur:
							cur = nextBatch()
						default:
						}
					}
					if ctx.Err() != nil {
						return cur, nil // shutting down: the rest is not committed, so it is fetched again
					}
				}
			}
		}
	}
	return cur, nil
}

// overdueFetchWait is how long an overdue batch waits for more records
// before the sink waits for the flusher instead.
const overdueFetchWait = 20 * time.Millisecond

// backlog is the records not yet fetched, per partition, as of the last
// record fetched from it.
type backlog struct {
	lag   map[int]int64
	total int64
}

// update records a partition's lag and returns the total.
func (b *backlog) update(partition int, lag int64) int64 {
	b.total += lag - b.lag[partition]
	b.lag[partition] = lag
	return b.total
}

// consumerOpts are the consumer of the events topic: a member of the
// group that commits only what it inserted (no automatic commits).
func (s *Sink) consumerOpts() []kgo.Opt {
	return append(s.cfg.ClientOpts(),
		kgo.ConsumerGroup(s.cfg.Group), kgo.ConsumeTopics(s.cfg.Topic),
		kgo.DisableAutoCommit(),
		// A new group starts at the oldest record.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// MinBytes 1 answers a fetch as soon as anything arrives (latency);
		// under load each fetch still returns up to FetchMaxBytes, and
		// franz-go buffers at most one fetch per broker until it is polled.
		kgo.FetchMinBytes(1), kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(4<<20), kgo.FetchMaxWait(100*time.Millisecond),
		// The eager range and round-robin protocols kafka-go's reader
		// offered, so sinks of both kinds can share a group while they
		// are upgraded one by one.
		kgo.Balancers(kgo.RangeBalancer(), kgo.RoundRobinBalancer()),
		// A revoke waits until the records of the last poll are in a batch
		// (AllowRebalance), so it flushes them with the rest and nothing
		// polled under one assignment is committed under the next.
		kgo.BlockRebalanceOnPoll(),
		kgo.HeartbeatInterval(time.Second), kgo.SessionTimeout(6*time.Second), kgo.RebalanceTimeout(rebalanceTimeout),
		kgo.MetadataMinAge(time.Second),
	)
}

// accept decodes one record into the batch, or dead-letters it.
func (s *Sink) accept(ctx context.Context, b *batch, msg *kgo.Record) error {
	if len(b.last) == 0 {
		b.first = time.Now()
	}
	if err := s.decodeInto(b, msg); err != nil {
		if dlqErr := s.deadLetter(ctx, msg, err); dlqErr != nil {
			return dlqErr
		}
	} else {
		r := &b.rows
		last := r.len() - 1
		b.bytes += len(msg.Value)
		if last+1 == firstBatchSample {
			s.reserveFirst(b)
		}
		if t := int64(r.ns[0][last]); t > b.maxTime[int(msg.Partition)] {
			b.maxTime[int(msg.Partition)] = t
		}
	}
	b.last[int(msg.Partition)] = msg
	return nil
}

// countDuplicates counts the batch's rows whose event id the sink saw
// within its window (recentIDs), remembering each. The dispatcher calls it
// for every batch as it is handed over, so the ids are looked up in the
// order they were fetched, as one lookup per record in accept did before
// 2026-12-01; a whole batch at once is cheaper (countSeen). The metric so
// moves by a batch at a time, at most MaxAge (10x while catching up) after
// the records came.
func (s *Sink) countDuplicates(b *batch) {
	r := &b.rows
	if n := s.seen.countSeen(r.len(), func(i int) string { return r.str(0, i) }); n > 0 {
		s.m.duplicates.Add(float64(n))
	}
}

// firstBatchSample is how many rows of the sink's first batch show what
// a full batch will hold (reserveFirst).
const firstBatchSample = 1024

// reserveFirst gives the first batch of the process, once it holds
// firstBatchSample rows, the capacity of a full batch (MaxRows rows, or
// MaxBytes of records if fewer) of records like those. Every later batch
// starts with the size of the largest handed over before it (see sizes),
// but the first grew from nothing: each of its slices copied, and the
// pages of every larger copy faulted in afresh, about 8 % of the sink's
// CPU over a 1M-event topic (path B's profile, 2026-11-30: growslice 0.48
// of 1.63 s in the run's first 5 s). Memory stays within the bound
// MaxRows and MaxBytes set; the pages of capacity never filled are not
// touched.
func (s *Sink) reserveFirst(b *batch) {
	if s.sizes.get().n > 0 || b.bytes <= 0 {
		return
	}
	n := b.rows.len()
	rows := s.cfg.MaxRows
	if byBytes := int(int64(n) * int64(s.cfg.MaxBytes) / int64(b.bytes)); byBytes < rows {
		rows = byBytes
	}
	if rows <= n {
		return
	}
	b.rows.reserve(b.rows.size().scaled(rows-n, n))
}

// decodeInto appends a record's event to the batch's rows, or returns why
// it cannot be inserted (and adds nothing).
func (s *Sink) decodeInto(b *batch, msg *kgo.Record) error {
	if len(msg.Value) > s.cfg.MaxEventBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", errTooLarge, len(msg.Value), s.cfg.MaxEventBytes)
	}
	// franz-go (without pools, which the sink does not configure) leaves
	// a fetched record's value to the record and never touches it again,
	// and nothing here writes to it, so the rows can keep it (to
	// dead-letter a row ClickHouse refuses) without a copy.
	value := unsafe.String(unsafe.SliceData(msg.Value), len(msg.Value)) //nolint:gosec // G103: read-only view of a buffer we own, see above
	if b.rows.addWire(value, msg.Partition, msg.Offset) {
		return nil
	}
	// Not in the exact wire form (or refused): the general decoder
	// decides, and says why.
	return s.decodeGeneral(b, msg, value)
}

// decodeGeneral decodes a record with the general decoder into the
// batch's one scratch event (hot in the cache) and appends its fields to
// the column slices; a record that fails adds nothing.
func (s *Sink) decodeGeneral(b *batch, msg *kgo.Record, value string) error {
	e := &b.event
	// The arrays are copied into the rows: the decoder's arena is scratch.
	defer b.dec.Reset()
	if err := b.dec.DecodeString(value, e); err != nil {
		return err
	}
	if e.TimeNs < minEventNs || e.TimeNs > maxEventNs || e.IngestNs < 0 {
		return fmt.Errorf("event_time_ns %d: outside what ClickHouse DateTime holds (1971..2105)", e.TimeNs)
	}
	b.rows.add(e, msg.Partition, msg.Offset, value)
	return nil
}

// fetchDeadline keeps one context for as long as the fetch deadline stays
// the same: a context per record costs more than decoding it.
type fetchDeadline struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
}

func (f *fetchDeadline) at(parent context.Context, deadline time.Time) context.Context {
	if f.ctx == nil || !deadline.Equal(f.deadline) || f.ctx.Err() != nil {
		f.stop()
		f.deadline = deadline
		f.ctx, f.cancel = context.WithDeadline(parent, deadline)
	}
	return f.ctx
}

func (f *fetchDeadline) stop() {
	if f.cancel != nil {
		f.cancel()
	}
}

var errTooLarge = errors.New("record too large")

// Oldest and newest event times ClickHouse's DateTime can hold.
var (
	minEventNs = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	maxEventNs = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC).UnixNano()
)

// deadLetter writes a record that can never be inserted to the dead-letter
// topic, retrying until Kafka takes it or ctx ends: a record is committed
// only once it is inserted or dead-lettered.
func (s *Sink) deadLetter(ctx context.Context, msg *kgo.Record, cause error) error {
	errText := cause.Error()
	if len(errText) > 1024 {
		errText = errText[:1024]
	}
	headers := make([]kafka.Header, 0, len(msg.Headers)+6)
	for _, h := range msg.Headers {
		headers = append(headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	dl := kafka.Message{
		Key: msg.Key, Value: msg.Value,
		Headers: append(headers,
			kafka.Header{Key: "steadystate.source.topic", Value: []byte(msg.Topic)},
			kafka.Header{Key: "steadystate.source.partition", Value: []byte(strconv.Itoa(int(msg.Partition)))},
			kafka.Header{Key: "steadystate.source.offset", Value: []byte(strconv.FormatInt(msg.Offset, 10))},
			kafka.Header{Key: "steadystate.error", Value: []byte(errText)},
			kafka.Header{Key: "steadystate.time", Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		),
	}
	if len(dl.Value) > 900<<10 {
		dl.Value = dl.Value[:900<<10] // the broker's message limit; the headers say where the original is
		dl.Headers = append(dl.Headers, kafka.Header{Key: "steadystate.truncated", Value: []byte("true")})
	}
	delay := s.cfg.RetryInitial
	for {
		err := s.dlq.Write(ctx, dl)
		if err == nil {
			s.m.records.WithLabelValues("dead_lettered").Inc()
			s.log.Debug("dead-lettered", "partition", msg.Partition, "offset", msg.Offset, "err", cause)
			return nil
		}
		s.log.Warn("dead-letter write failed; retrying", "err", err, "retry_in", delay)
		if !wait.Sleep(ctx, wait.Jitter(delay)) {
			return fmt.Errorf("dead-letter partition %d offset %d: %w", msg.Partition, msg.Offset, ctx.Err())
		}
		delay = min(delay*2, s.cfg.RetryMax)
	}
}

// startFlushers inserts the batches handed over on flushes, up to
// inserts at once, and commits them strictly in the order they were
// handed over: a batch's offsets are committed only once it and every
// batch before it are inserted (or dead-lettered), and after a batch that
// could not be inserted nothing more is committed. ClickHouse runs each
// insert (the events table and its views) on one thread, so a second
// insert in flight is what lets it use a second core. A batch with a
// barrier is closed when every batch before it is committed. flushDone
// gets the first insert error once flushes is closed and all is done;
// sizes notes the size of every batch handed over, inFlight counts those
// not yet committed; dispatched sees every batch of rows as it is handed
// over, in order, before its insert (nil: nothing).
func startFlushers(ctx context.Context, inserts int,
	insert func(context.Context, *batch, *insertColumns) error, commit func(context.Context, *batch),
	flushes <-chan *batch, free chan<- *batch, flushDone chan<- error, wg *sync.WaitGroup, sizes *batchSizes, inFlight *atomic.Int32,
	dispatched func(*batch)) {
	work := make(chan *batch)
	// At most inserts batches are dispatched and not yet committed: this
	// bounds memory with the batch filling and the one being handed over.
	order := make(chan *batch, inserts)
	wg.Add(2 + inserts)
	go func() { // dispatcher: keeps the order
		defer wg.Done()
		defer close(order)
		defer close(work)
		for b := range flushes {
			if b.barrier == nil {
				inFlight.Add(1)
				sizes.note(b.rows.size())
				if dispatched != nil {
					dispatched(b)
				}
			}
			order <- b
			if b.barrier == nil {
				work <- b
			}
		}
	}()
	for range inserts {
		go func() {
			defer wg.Done()
			// The insert's columns are this inserter's: each insert in
			// flight has its own.
			var cols insertColumns
			for b := range work {
				b.inserted <- insert(ctx, b, &cols)
			}
		}()
	}
	go func() { // committer
		defer wg.Done()
		var firstErr error
		for b := range order {
			if b.barrier != nil {
				close(b.barrier) // everything handed over before it is committed
				continue
			}
			if err := <-b.inserted; err != nil && firstErr == nil {
				firstErr = err
			}
			if firstErr == nil {
				commit(ctx, b)
			}
			inFlight.Add(-1)
			b.reset()
			select {
			case free <- b:
			default:
			}
		}
		flushDone <- firstErr
	}()
}

// insertBatch inserts a batch, retrying transient failures and isolating
// rows the server rejects.
func (s *Sink) insertBatch(ctx context.Context, b *batch, cols *insertColumns) error {
	s.m.batchAge.Observe(time.Since(b.first).Seconds())
	if n := b.rows.len(); n > 0 {
		if err := s.insertAll(ctx, b, 0, n, cols); err != nil {
			return fmt.Errorf("batch of %d rows not inserted, offsets not committed: %w", n, err)
		}
		s.m.batches.Inc()
		s.m.batchRows.Observe(float64(n))
		s.m.batchBytes.Observe(float64(b.bytes))
	}
	return nil
}

// commit commits an inserted batch's offsets and records progress. A
// failed commit is logged: the rows are stored, and a redelivery is
// deduplicated by event id.
func (s *Sink) commit(ctx context.Context, r *kgo.Client, b *batch) {
	commits := make([]*kgo.Record, 0, len(b.last))
	read := make(map[int]int64, len(b.last))
	for p, m := range b.last {
		commits = append(commits, m)
		read[p] = m.Offset
	}
	// Each partition's offset after its last record in the batch.
	if err := r.CommitRecords(ctx, commits...); err != nil {
		s.m.commitErrors.Inc()
		s.log.Warn("commit offsets", "err", err)
		return
	}
	s.m.commits.Inc()
	s.mu.Lock()
	for p := range b.last {
		s.maxEvent[p] = max(s.maxEvent[p], b.maxTime[p])
	}
	s.mu.Unlock()
	s.recordProgress(ctx, read)
}

// insertAll inserts rows [lo, hi) of b. A server rejection of the data is
// split in halves until the bad rows are isolated and dead-lettered;
// anything else is retried with backoff until ctx ends.
func (s *Sink) insertAll(ctx context.Context, b *batch, lo, hi int, cols *insertColumns) error {
	delay := s.cfg.RetryInitial
	for {
		start := time.Now()
		err := s.insert(ctx, b, lo, hi, cols)
		if err == nil {
			s.m.insertTime.Observe(time.Since(start).Seconds())
			s.m.records.WithLabelValues("inserted").Add(float64(hi - lo))
			return nil
		}
		if isDataError(err) {
			if hi-lo == 1 {
				// The record as it was fetched.
				msg := &kgo.Record{Topic: s.cfg.Topic, Partition: b.rows.parts[lo], Offset: b.rows.offsets[lo], Value: []byte(b.rows.values[lo])}
				return s.deadLetter(ctx, msg, fmt.Errorf("clickhouse rejected the row: %w", err))
			}
			mid := lo + (hi-lo)/2
			if err := s.insertAll(ctx, b, lo, mid, cols); err != nil {
				return err
			}
			return s.insertAll(ctx, b, mid, hi, cols)
		}
		s.m.retries.Inc()
		s.log.Warn("insert failed; retrying the same rows", "rows", hi-lo, "err", err, "retry_in", delay)
		if !wait.Sleep(ctx, wait.Jitter(delay)) {
			return fmt.Errorf("insert %d rows: %w (last error: %w)", hi-lo, ctx.Err(), err)
		}
		delay = min(delay*2, s.cfg.RetryMax)
	}
}

func (s *Sink) insert(ctx context.Context, b *batch, lo, hi int, cols *insertColumns) error {
	if len(s.insertSettings) > 0 {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(s.insertSettings))
	}
	ib, err := s.store.Conn.PrepareBatch(ctx, s.insertSQL)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer func() { _ = ib.Close() }()
	if err := cols.fill(ib, b, lo, hi); err != nil {
		return err
	}
	if err := ib.Send(); err != nil {
		return fmt.Errorf("send insert: %w", err)
	}
	return nil
}

// isDataError says whether ClickHouse refused the data itself, so the same
// rows would fail again.
func isDataError(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case 6, 27, 36, 38, 41, 53, 69, 70, 72, 117, 131, 349:
			return true
		}
	}
	var ce *columnError
	return errors.As(err, &ce)
}
