//go:build integration

package produce

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// smallSetting is one configuration BenchmarkProduceSmallRequests compares.
type smallSetting struct {
	name   string
	linger time.Duration
	// perRequest puts all records of one Publish on one partition (the
	// partition of its first record's key) instead of each on its key's.
	perRequest bool
	// fetchMinBytes is the consumer's: how much a fetch waits for (up to
	// its 100 ms max wait) before the broker answers.
	fetchMinBytes int32
}

// BenchmarkProduceSmallRequests measures the producer at ingestbench's
// path E: requests arrive paced, not back to back (100 requests/s of 100
// events, as the latency probe sends them, and 100 requests/s of 200, the
// background load: 30,000 events/s), each published by its own goroutine
// as serve's HTTP handlers do, while a consumer with the sink's fetch
// settings reads the topic. At that shape few records share a produce
// request, so the broker's and the client's per-request and per-batch
// costs weigh more than at 1000-event requests. Per setting, interleaved
// over rounds, it reports the medians of: this process's CPU (producer
// and consumer) and the broker's (/proc/<pid>/stat) per event, the
// produce requests and record batches written per second, the fetch
// requests per second, and Publish's p50/p99 (request -> acks=all).
// SMALL_SETTINGS picks settings by name, SMALL_ROUNDS the rounds,
// SMALL_SECONDS each run's length, SMALL_CONSUME=0 leaves the consumer
// out (this process's CPU is then the producer's alone). Other users of
// the shared broker show up in its figure: compare settings within one
// run. BatchTimeout's comment has the figures that chose it; with the
// consumer (3 rounds of 8 s, 2026-12-01, load 2.7-3.9) a consumer
// FetchMinBytes of 64 KiB instead of the sink's 1 cut its fetches 199 ->
// 40 per second and the broker 8042 [6792..10255] -> 6681 [6639..6743]
// ns per event; at the 10ms linger (4 rounds of 8 s, load 3.4-5) the
// consumer's fetches fell 84 -> 34 per second, this process 9672
// [8361..9812] -> 8235 [8133..8779] and the broker 6139 [5693..6538] ->
// 4932 [4879..4969] ns per event (and 2ms -> 10ms with the sink's 1 byte:
// this process 14203 -> 9672, the broker 11013 -> 6139). A setting of
// the sink's (it delays a fetch up to its max wait when records come
// slowly), left to it.
//
//	go test -tags integration -run '^$' -bench BenchmarkProduceSmallRequests -benchtime 1x ./pipeline/produce/
func BenchmarkProduceSmallRequests(b *testing.B) {
	settings := []smallSetting{
		{name: "key-2ms", linger: 2 * time.Millisecond, fetchMinBytes: 1},
		{name: "key-5ms", linger: 5 * time.Millisecond, fetchMinBytes: 1},
		{name: "key-10ms", linger: 10 * time.Millisecond, fetchMinBytes: 1},
		{name: "key-20ms", linger: 20 * time.Millisecond, fetchMinBytes: 1},
		{name: "request-2ms", linger: 2 * time.Millisecond, perRequest: true, fetchMinBytes: 1},
		{name: "key-2ms-fetch64k", linger: 2 * time.Millisecond, fetchMinBytes: 64 << 10},
		{name: "key-10ms-fetch64k", linger: 10 * time.Millisecond, fetchMinBytes: 64 << 10},
		{name: "request-2ms-fetch64k", linger: 2 * time.Millisecond, perRequest: true, fetchMinBytes: 64 << 10},
	}
	if v := os.Getenv("SMALL_SETTINGS"); v != "" {
		settings = slices.DeleteFunc(settings, func(st smallSetting) bool { return !slices.Contains(strings.Split(v, ","), st.name) })
	}
	rounds, seconds := 3, 10
	if v, err := strconv.Atoi(os.Getenv("SMALL_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	if v, err := strconv.Atoi(os.Getenv("SMALL_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	kpid := stagecpu.StatePID("kafka")
	if kpid == 0 {
		b.Log("no $STEADYSTATE_STATE_DIR/kafka/kafka.pid: the broker's CPU reads 0")
	}
	type result struct{ client, broker, produceReqs, batches, fetchReqs, p50, p99 []float64 }
	results := make([]result, len(settings))
	for b.Loop() {
		for r := range rounds {
			for i, st := range settings {
				m, err := runSmall(b, st, time.Duration(seconds)*time.Second, kpid, uint64(r))
				if err != nil {
					b.Fatalf("%s: %v", st.name, err)
				}
				res := &results[i]
				res.client = append(res.client, m.client)
				res.broker = append(res.broker, m.broker)
				res.produceReqs = append(res.produceReqs, m.produceReqs)
				res.batches = append(res.batches, m.batches)
				res.fetchReqs = append(res.fetchReqs, m.fetchReqs)
				res.p50 = append(res.p50, m.p50)
				res.p99 = append(res.p99, m.p99)
			}
		}
	}
	for i, st := range settings {
		r := results[i]
		b.ReportMetric(stagecpu.Median(r.client), st.name+"-client-ns/event")
		b.ReportMetric(stagecpu.Median(r.broker), st.name+"-broker-ns/event")
		b.Logf("%-18s client %s  broker %s ns/event; produce requests/s %s, batches/s %s, fetches/s %s; publish p50 %s p99 %s ms (median [min..max] of %d rounds)",
			st.name, spreadOf(r.client), spreadOf(r.broker), spreadOf(r.produceReqs), spreadOf(r.batches), spreadOf(r.fetchReqs),
			spread1(r.p50), spread1(r.p99), len(r.client))
	}
}

// smallRun is one run's figures.
type smallRun struct{ client, broker, produceReqs, batches, fetchReqs, p50, p99 float64 }

// runSmall publishes for d at path E's shape with setting st to a fresh
// topic while a consumer reads it, and measures.
func runSmall(b *testing.B, st smallSetting, d time.Duration, kpid int, seed uint64) (smallRun, error) {
	b.Helper()
	cfg := NewDefaultConfig()
	cfg.BatchTimeout = st.linger
	cfg.Topic = fmt.Sprintf("test.produce-small.%s.%d", st.name, time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := bus.EnsureTopic(ctx, cfg.Brokers, cfg.EventsTopic()); err != nil {
		return smallRun{}, fmt.Errorf("kafka is not usable at %v (start it with `make up`): %w", cfg.Brokers, err)
	}
	defer func() { _ = bus.DeleteTopic(context.Background(), cfg.Brokers, cfg.Topic) }()
	var counts requestCounts
	opts := append(clientOpts(cfg), kgo.WithHooks(&counts))
	if st.perRequest {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return smallRun{}, err
	}
	p := &Producer{cfg: cfg, cl: cl}
	defer p.Close()
	var consumed atomic.Int64
	consume := os.Getenv("SMALL_CONSUME") != "0"
	if consume {
		consumer, err := kgo.NewClient(append(cfg.ClientOpts(),
			kgo.WithHooks(&counts),
			kgo.ConsumeTopics(cfg.Topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMinBytes(st.fetchMinBytes), kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(4<<20), kgo.FetchMaxWait(100*time.Millisecond),
		)...)
		if err != nil {
			return smallRun{}, err
		}
		defer consumer.Close()
		defer cancel() // ends the poll loop before the client closes
		go func() {
			for ctx.Err() == nil {
				fs := consumer.PollFetches(ctx)
				if fs.IsClientClosed() {
					return
				}
				consumed.Add(int64(fs.NumRecords()))
			}
		}()
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	next := 0
	// requestEvents are n events of their own: random trace ids (one span
	// per trace, as the generator sends them), so a request's records
	// spread over the partitions by key.
	requestEvents := func(n int) []telemetry.Event {
		events := stageEvents(n)
		for i := range events {
			e := &events[i]
			e.TraceID = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
			e.ID = fmt.Sprintf("small-%d", next)
			next++
		}
		return events
	}
	// Warm up: connections, the topic's leaders.
	if err := publishSmall(ctx, p, requestEvents(100), st.perRequest); err != nil {
		return smallRun{}, err
	}
	// Pre-built requests, cycled: building them is not what is measured.
	probes, background := make([][]telemetry.Event, 50), make([][]telemetry.Event, 50)
	for i := range probes {
		probes[i], background[i] = requestEvents(100), requestEvents(200)
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
		failed    atomic.Value
		sent      int
	)
	counts.reset()
	c0, k0 := stagecpu.ProcessCPU(), stagecpu.PIDCPU(kpid)
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond) // alternately a probe and a background request: 200 requests/s
	for n := 0; time.Since(start) < d; n++ {
		<-tick.C
		events := probes[(n/2)%len(probes)]
		if n%2 == 1 {
			events = background[(n/2)%len(background)]
		}
		sent += len(events)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			if err := publishSmall(ctx, p, events, st.perRequest); err != nil {
				failed.Store(err)
				return
			}
			mu.Lock()
			latencies = append(latencies, time.Since(t))
			mu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	wall := time.Since(start)
	// Let the consumer read the rest before the CPU is read: what the
	// broker and the consumer spend on these events belongs to the run.
	for deadline := time.Now().Add(10 * time.Second); consume && consumed.Load() < int64(sent+100) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	c1, k1 := stagecpu.ProcessCPU(), stagecpu.PIDCPU(kpid)
	if err, ok := failed.Load().(error); ok {
		return smallRun{}, err
	}
	if got := consumed.Load(); consume && got < int64(sent+100) {
		return smallRun{}, fmt.Errorf("consumed %d of %d records", got, sent+100)
	}
	slices.Sort(latencies)
	ms := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	secs := wall.Seconds()
	return smallRun{
		client: float64((c1 - c0).Nanoseconds()) / float64(sent), broker: float64((k1 - k0).Nanoseconds()) / float64(sent),
		produceReqs: float64(counts.produce.Load()) / secs, batches: float64(counts.batches.Load()) / secs,
		fetchReqs: float64(counts.fetch.Load()) / secs, p50: ms(0.5), p99: ms(0.99),
	}, nil
}

// publishSmall is Publish; with perRequest every record goes to the
// partition of the first record's key (the producer's partitioner must be
// kgo.ManualPartitioner).
func publishSmall(ctx context.Context, p *Producer, events []telemetry.Event, perRequest bool) error {
	if !perRequest {
		return p.Publish(ctx, events)
	}
	enc := new(Encoder)
	recs := enc.Records(events)
	part := int32(fnv32a(recs[0].Key) & 0x7fffffff % uint32(p.cfg.Partitions))
	for _, r := range recs {
		r.Partition = part
	}
	return p.WriteRecords(ctx, recs...)
}

// requestCounts counts the produce and fetch requests written and the
// record batches produced.
type requestCounts struct{ produce, fetch, batches atomic.Int64 }

func (c *requestCounts) reset() {
	c.produce.Store(0)
	c.fetch.Store(0)
	c.batches.Store(0)
}

func (c *requestCounts) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil {
		return
	}
	switch key {
	case 0: // Produce
		c.produce.Add(1)
	case 1: // Fetch
		c.fetch.Add(1)
	}
}

func (c *requestCounts) OnProduceBatchWritten(kgo.BrokerMetadata, string, int32, kgo.ProduceBatchMetrics) {
	c.batches.Add(1)
}

func spread1(xs []float64) string {
	return fmt.Sprintf("%.1f [%.1f..%.1f]", stagecpu.Median(xs), slices.Min(xs), slices.Max(xs))
}

// TestSmallPublishesShareProduceRequests: at the default linger, small
// requests arriving every 5 ms (path E's rate) share produce requests
// instead of each being one of its own: what BatchTimeout's default is
// for (the produce requests, not the records, cost the broker at that
// shape). A busy machine only bunches the requests up more, so it cannot
// make this fail.
func TestSmallPublishesShareProduceRequests(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Topic = fmt.Sprintf("test.produce-share.%d", time.Now().UnixNano())
	ctx := t.Context()
	require.NoError(t, bus.EnsureTopic(ctx, cfg.Brokers, cfg.EventsTopic()), "Kafka at %v (start it with `make up`)", cfg.Brokers)
	t.Cleanup(func() { _ = bus.DeleteTopic(context.Background(), cfg.Brokers, cfg.Topic) })
	var counts requestCounts
	cl, err := kgo.NewClient(append(clientOpts(cfg), kgo.WithHooks(&counts))...)
	require.NoError(t, err)
	p := &Producer{cfg: cfg, cl: cl}
	t.Cleanup(func() { _ = p.Close() })
	rng := rand.New(rand.NewPCG(3, 4))
	requests := make([][]telemetry.Event, 100)
	for i := range requests {
		requests[i] = stageEvents(100)
		for j := range requests[i] {
			e := &requests[i][j]
			e.TraceID = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
			e.ID = fmt.Sprintf("share-%d-%d", i, j)
		}
	}
	require.NoError(t, p.Publish(ctx, requests[0])) // connections and leaders
	counts.reset()
	var wg sync.WaitGroup
	errs := make(chan error, len(requests))
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for _, events := range requests {
		<-tick.C
		wg.Go(func() { errs <- p.Publish(ctx, events) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	produced := counts.produce.Load()
	t.Logf("%d requests of 100 events every 5 ms: %d produce requests, %d record batches", len(requests), produced, counts.batches.Load())
	assert.LessOrEqual(t, produced, int64(len(requests)*7/10), "produce requests for %d small requests", len(requests))
}
