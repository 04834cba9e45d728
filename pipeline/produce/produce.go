// Package produce writes tagged events to Kafka with franz-go: one record
// per event, its value the event's JSON wire form, keyed so one flow item or
// one trace stays in one partition. Publish returns only when Kafka
// acknowledged every record (acks=all), so callers answer their clients
// honestly.
package produce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Config configures the producer.
type Config struct {
	// Config says where the events go: brokers, topic, and the partitions
	// and replication it is created with (pipeline/bus).
	bus.Config `yaml:",inline"`
	// BatchTimeout is how long a partition's batch waits for more records
	// before a produce request is cut (franz-go's linger). Default: 10ms.
	// At small, paced requests the produce requests, not the records,
	// cost the producer and the broker: at ingestbench's path E (100
	// requests/s of 100 events and 100/s of 200, from separate HTTP
	// handlers) each request was a produce request of its own at 2ms.
	// BenchmarkProduceSmallRequests (that shape, producer alone, 4
	// interleaved rounds of 8 s, 2026-12-01, load 3.5-7), 2ms / 5ms / 10ms,
	// median [min..max]: produce requests/s 197 / 138 / 80; producer CPU
	// ns per event 8185 [6904..9277] / 6537 [6334..7488] / 5506
	// [4879..5823]; broker 5163 [4511..5966] / 4484 [4128..5581] / 3496
	// [3132..3549]; Publish p50 3.5 / 6.5 / 7.8 ms, p99 21.4 / 14.5 / 21.8
	// ms. End to end (ingestbench -paths E,E1 -alt-serve <main's build>
	// -rounds 4 -stages=false, this build's serve at 10ms in E, main's at
	// 2ms in E1, the rest the same; five invocations, 2026-12-01, the
	// machine shared, 97-100 % busy in the first four, 72-97 % in the
	// fifth, which had the benchmark's start and drop waits removed),
	// 10ms/2ms per round pair, median [min..max]:
	//
	//	load       serve                  Kafka broker           request -> 200 p99
	//	5.5-8.9    0.871 [0.791..0.907]   0.937 [0.731..1.265]   0.978 [0.613..2.311]
	//	9.7-16.6   0.898 [0.689..1.108]   0.882 [0.615..1.433]   0.979 [0.831..4.059]
	//	2.5-25.6   1.190 [1.049..2.123]   0.982 [0.784..1.521]   2.455 [0.344..59.0]
	//	8.0-15.6   0.847 [0.788..0.935]   0.760 [0.695..1.000]   0.724 [0.583..0.941]
	//	5.3-7.0    0.982 [0.850..1.056]   0.885 [0.714..0.968]   1.660 [0.144..3.680]
	//
	// (the third with one 10ms round disturbed: request -> 200 p50 4.8 s,
	// ingest-to-queryable p99 41 s); request -> 200 p50 over the rounds
	// 14-18 ms against 6-12 ms, p99 58-214 against 69-218 ms (the
	// third's 499 against 211 aside); the sink,
	// whose fetches follow the produce requests, 5.3-6.0 vs 6.0-6.5 CPU-s
	// per 1M events in the first two and the fifth. Ingest-to-queryable
	// in the fifth: p50 434 [387..588] vs 582 [378..2139] ms, p99 1165
	// [924..1537] vs 2333 [1078..5660] ms.
	// So 10ms: the linger adds about 8 ms to a request's answer, against
	// the half-second a record then waits in the sink's batch before it
	// is queryable; the broker is 0.76-0.94 in four of five invocations
	// (0.98 in the third), serve 0.85-0.90 in three, 0.98 in the
	// quietest and 1.19 in the busiest. (Session 12 had measured
	// 10ms against 2ms at E, serve 0.95 and broker 0.72-0.87, and kept
	// 2ms for request -> 200 alone.) One invocation of 5ms against 2ms
	// (load 2.7-15.7, another ingestbench beside it, and 1,175 requests
	// of one 5ms round failed) read serve 1.43 [1.19..16.6], Kafka 1.11
	// [0.62..16.4]: not taken.
	// 20ms, not measured end to end: the same benchmark (4 rounds, load
	// 1.4-1.6), 2ms / 10ms / 20ms: produce requests/s 194 / 81 / 50,
	// producer 9986 / 6362 / 5047 and broker 7608 / 4209 / 3067 ns per
	// event, Publish p50 4.3 / 8.3 / 13.8 ms, p99 21.5 / 19.4 / 31.4 ms.
	// At requests of 1000 events back to back the linger costs the same
	// (BenchmarkProduceLinger: 2, 5 and 10 ms within the runs' spread).
	// Putting a whole request on one partition instead of each record on
	// its key's cut the record batches 6x (1184 -> 198 per second) but
	// not the CPU (producer 8998 [7463..10159], broker 4782
	// [3788..9259] ns per event in the same run as the figures above):
	// partitions stay by key.
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// BatchBytes caps one partition's record batch. Default: 1 MiB. It
	// is never reached at live rates (10k events/s of about 700 bytes
	// over 6 partitions fill about 12 KB per partition in a 10ms linger)
	// and only caps a burst's requests, so it was not varied.
	BatchBytes int64 `yaml:"batch_bytes"`
	// MaxInflight is the most produce requests in flight to one broker.
	// Default: 5 (BenchmarkProduceSettings measures it).
	MaxInflight int `yaml:"max_inflight"`
	// Compression of the record batches: none, gzip, snappy, lz4 or zstd.
	// Default: snappy. Compressed batches are what the broker stores and
	// every consumer fetches, so the codec costs the producer (compress),
	// saves the broker (fewer bytes to write, replicate and serve) and
	// costs the consumer (decompress); over a network it also divides
	// the bytes sent twice. BenchmarkProduceSettingsCost measured all
	// three, 2026-11-30 on the shared 2-core bench machine (5 interleaved
	// rounds of 200,000 events, 8 callers; three runs, two with the
	// generator's ids, one with random trace and event ids), ns CPU per
	// event producer / broker / consumer, bytes per event fetched:
	//
	//	none    1484-2138 / 2188-3883 / 1364-1658   696-711 B
	//	snappy  1296-2025 / 1144-1992 / 1307-1597   60-118 B
	//	lz4     1957-2506 / 1042-1538 / 1773-2149   36-98 B
	//	zstd    3025-3771 / 1392-2144 / 1451-1734   22-56 B
	//
	// snappy cost the producer and the consumer no more than none in
	// every run (the producer copies 6-11x fewer bytes into its requests,
	// which pays for compressing), cut the broker's CPU by a quarter to a
	// half, and the bytes on the wire 6x with random ids: the lowest
	// total in each run. lz4 (franz-go's pierrec/lz4) and zstd cost the
	// producer 20-130 % more, lz4 the consumer 30 % more.
	//
	// End to end the same (ingestbench -paths A,A1, serve with snappy in
	// A and, through -alt-serve, with --compression none, lz4 or zstd in
	// A1, the sink and the generator the same; one invocation per codec,
	// 3 interleaved round pairs of 500,000 events, 2026-11-30/12-01, the
	// machine shared, load 4-7 for none, 7-18 for lz4 and zstd): medians
	// in CPU-s per 1M events, snappy|other, and the bytes of the topic's
	// log segments on the broker's disk per 1M events (the partitions'
	// .log files, polled while the topic lived; all 3 rounds within 0.5 %;
	// the generator's ids compress better than random ones):
	//
	//	         serve       sink        broker      events/s          disk
	//	none     3.92|4.12   3.58|3.78   3.32|4.16   35,899|36,419     64|696 MB
	//	lz4      3.80|4.04   4.12|4.12   3.40|3.16   20,340|19,763     64|39 MB
	//	zstd     4.06|5.32   3.74|4.20   3.30|2.92   22,941|23,200     64|23 MB
	//
	// serve's CPU snappy/other per round pair: none 0.975 [0.947..1.039],
	// lz4 0.936 [0.918..1.178], zstd 0.749 [0.692..1.092]. So snappy stays:
	// none saved CPU nowhere (serve within the spread, the sink and the
	// broker more) and stores 11x the bytes; lz4 stores 0.61x the bytes
	// for about 7 % more serve CPU (--compression lz4 where the network or
	// retention is dearer than CPU); zstd stores 0.36x for a third more.
	Compression string `yaml:"compression"`
	// WriteTimeout bounds one produce request to a broker (the request's
	// own timeout; franz-go adds its request overhead for the network).
	// Default: 5s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// RetryFor is how long Publish keeps retrying the records Kafka has not
	// acknowledged yet after a retriable failure (a dead partition leader,
	// not enough in-sync replicas, a timeout), bounded also by the caller's
	// context. A broker that dies is only replaced as partition leader once
	// the controller stops hearing from it (broker.session.timeout.ms), and
	// until then every request that touches one of its partitions fails:
	// without these retries each of them would be answered "retry later"
	// although the cluster recovers within seconds. Default: 10s.
	RetryFor time.Duration `yaml:"retry_for"`
	_        struct{}
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{
		Config:       bus.NewDefaultConfig(),
		BatchTimeout: 10 * time.Millisecond, BatchBytes: 1 << 20, MaxInflight: 5, Compression: "snappy", WriteTimeout: 5 * time.Second,
		RetryFor: 10 * time.Second,
	}
}

// Validate checks the config without dialling.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate()}
	if c.BatchTimeout <= 0 || c.BatchTimeout > time.Second {
		errs = append(errs, fmt.Errorf("batch_timeout %s: must be in (0, 1s]", c.BatchTimeout))
	}
	if c.BatchBytes < 1024 || c.BatchBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("batch_bytes %d: must be in [1024, 1 GiB]", c.BatchBytes))
	}
	if c.MaxInflight < 1 {
		errs = append(errs, fmt.Errorf("max_inflight %d: must be at least 1", c.MaxInflight))
	}
	if _, err := codec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.WriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("write_timeout %s: must be positive", c.WriteTimeout))
	}
	if c.RetryFor < 0 {
		errs = append(errs, fmt.Errorf("retry_for %s: must not be negative", c.RetryFor))
	}
	return errors.Join(errs...)
}

func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// ErrUnavailable marks a failure Kafka may recover from: the caller should
// answer 503 / UNAVAILABLE and let the client retry.
var ErrUnavailable = errors.New("kafka unavailable")

// Producer publishes events. It is safe for concurrent use; concurrent
// Publish calls share produce requests.
type Producer struct {
	cfg Config
	cl  *kgo.Client

	mu     sync.Mutex
	closed bool
}

// New builds a producer. It does not dial; EnsureTopic does.
func New(cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("producer config: %w", err)
	}
	cl, err := kgo.NewClient(clientOpts(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &Producer{cfg: cfg, cl: cl}, nil
}

// clientOpts are the producer's franz-go options.
func clientOpts(cfg Config) []kgo.Opt {
	compression, _ := codec(cfg.Compression)
	return append(cfg.ClientOpts(),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// As before with kafka-go: not idempotent, so several requests
		// may be in flight per broker; a record whose acknowledgement was
		// lost may be stored twice, and the event ids make the copy a
		// duplicate every count collapses.
		kgo.DisableIdempotentWrite(),
		kgo.MaxProduceRequestsInflightPerBroker(cfg.MaxInflight),
		// The partition of a key is kafka-go's (and Sarama's) FNV-1a hash,
		// as before the switch to franz-go: a key keeps its partition
		// across an upgrade.
		kgo.RecordPartitioner(keyPartitioner()),
		kgo.ProducerLinger(cfg.BatchTimeout),
		kgo.ProducerBatchMaxBytes(int32(min(cfg.BatchBytes, 1<<30))),
		kgo.ProducerBatchCompression(compression),
		kgo.ProduceRequestTimeout(cfg.WriteTimeout),
		// franz-go retries what a broker did not acknowledge, refreshing
		// the partition leaders when a broker answers "not leader" or
		// cannot be reached (at most every metadataMinAge): the records
		// of a dead leader go to its successor as soon as the cluster
		// elected one. RetryFor bounds how long a record is retried.
		kgo.RecordDeliveryTimeout(max(cfg.RetryFor, time.Second)+cfg.BatchTimeout),
		kgo.MetadataMinAge(metadataMinAge),
		kgo.MetadataMaxAge(metadataMaxAge),
		kgo.RetryBackoffFn(func(tries int) time.Duration {
			return min(100*time.Millisecond<<min(tries-1, 4), time.Second)
		}),
		// Bounded memory: at most this many records wait for their
		// acknowledgement; Publish blocks (until its context ends) beyond.
		kgo.MaxBufferedRecords(maxBufferedRecords),
	)
}

// keyPartitioner places a record by its key like kafka-go's Hash balancer.
func keyPartitioner() kgo.Partitioner {
	return kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(fnv32a))
}

// fnv32a is hash/fnv's 32-bit FNV-1a, inline: no hasher per record.
func fnv32a(b []byte) uint32 {
	h := uint32(fnvOffset)
	for _, c := range b {
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}

// fnv32aString continues FNV-1a hash h over s.
func fnv32aString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= fnvPrime
	}
	return h
}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

const (
	// metadataMinAge is how soon the producer re-reads the partition
	// leaders after a failure; metadataMaxAge how stale its view may get
	// otherwise.
	metadataMinAge = 250 * time.Millisecond
	metadataMaxAge = 30 * time.Second
	// maxBufferedRecords bounds the records waiting in the producer.
	maxBufferedRecords = 100_000
	// stampEvery is how many records in a row WriteRecords gives the
	// same timestamp (the Kafka record's CreateTime, which nothing here
	// reads, and the start of franz-go's delivery timeout, RetryFor, with
	// the records' contexts bounding them besides). franz-go reads the
	// clock for every record it is handed that has none: 1.75 % of
	// serve's samples at path A (perf, __vdso_clock_gettime). A stamp is
	// at most the time of the 31 Produce calls before it old: microseconds,
	// unless one of them waited for room in the buffer
	// (maxBufferedRecords), and then by that wait.
	stampEvery = 32
)

// EnsureTopic creates the topic when it is missing.
func (p *Producer) EnsureTopic(ctx context.Context) error {
	return bus.EnsureTopic(ctx, p.cfg.Brokers, p.cfg.EventsTopic())
}

// Key returns the partition key of an event: its flow item, else its trace,
// else its own id.
func Key(e *telemetry.Event) string {
	switch {
	case e.FlowKey != "":
		return e.Flow + "\x00" + e.FlowKey
	case e.TraceID != "":
		return e.TraceID
	default:
		return e.ID
	}
}

// Publish writes events and returns once all are acknowledged by every
// in-sync replica. On failure some records may have been written; callers
// answer with a retryable error and the deterministic event ids make the
// retry harmless.
func (p *Producer) Publish(ctx context.Context, events []telemetry.Event) error {
	if len(events) == 0 {
		return nil
	}
	enc := encoders.Get().(*Encoder)
	enc.Partitions = p.cfg.Partitions
	err := p.WriteRecords(ctx, enc.Records(events)...)
	// WriteRecords returns only after franz-go finished with every
	// record (acknowledged or failed), so the buffers are free again.
	enc.release()
	if cap(enc.values) <= maxPooledBytes {
		encoders.Put(enc)
	}
	return err
}

// maxPooledBytes keeps an unusually large request's buffers out of the pool.
const maxPooledBytes = 8 << 20

// Encoder turns events into Kafka records. Its buffers are reused from one
// call to the next: the records of a call share one value buffer, one key
// buffer and one header array, so a request of a thousand events costs a
// handful of allocations instead of several per event.
type Encoder struct {
	// Partitions is the topic's partition count the records' memory is
	// laid out by (see Records); 0 or 1: in the events' order. It only
	// places bytes: a count other than the topic's costs locality, never
	// a record's partition (franz-go's partitioner picks that). Publish
	// sets the configured count.
	//
	// Measured 2026-12-01 on the shared 2-core machine (busy: load 3-25).
	// BenchmarkProduceLayout (8 callers, 1000-record requests, 1M events
	// a run, 5 interleaved pairs, load 2.5-4), events' order / by
	// partition: this process's CPU 2116 [1824..2193] / 1448
	// [1138..1512] ns per event (per pair 0.699 [0.538..0.809]), wall
	// 3615 [3390..3907] / 2871 [2706..2981] ns per event; franz-go's
	// instructions per event about the same (3172 / 3300, cachegrind):
	// the copy into the batches, which missed the cache on every record
	// (memmove 6-8 % of serve's samples at path A), runs ahead instead.
	// The keys are hashed once more here (266 instructions per event,
	// BenchmarkStageEncode). End to end, serve's CPU per event this /
	// main's build, ingestbench -paths A,A1 -alt-serve, per round pair,
	// median [min..max], four invocations: 0.888 [0.837..0.927], 0.870
	// [0.811..1.063], 0.940 [0.691..1.174], 0.855 [0.755..1.222]; but
	// main's code on both sides read 0.942 [0.852..1.045], 1.090
	// [0.907..1.135], 0.891 [0.726..1.202] at the same loads: a gain of
	// about a tenth, not resolved from the benchmark's own spread.
	// Small requests (path E, E,E1, 3 rounds, load 3-10): serve 0.920
	// [0.888..1.119].
	Partitions int

	recs    []kgo.Record
	ptrs    []*kgo.Record
	values  []byte
	keys    []byte
	headers []kgo.RecordHeader
	// part is each event's partition, order the events by partition
	// (stable), during a call.
	part  []int32
	order []int32
}

var encoders = sync.Pool{New: func() any { return new(Encoder) }}

// Records returns the records of events: the value is the event's wire
// form, the key its partition key (Key), and events tagged with an
// experiment carry its id and cohort as headers. The records are returned
// in the events' order and are valid until the next call.
//
// With Partitions set, each partition's records, keys, values and headers
// are written next to each other (in the events' order within it): franz-go
// copies a partition's records into its batch after the linger, when they
// have left the cache, and reading them in one run lets the processor fetch
// ahead instead of missing on each record (Partitions has the figures).
func (enc *Encoder) Records(events []telemetry.Event) []*kgo.Record {
	// Size the buffers first: the records point into them, so they must
	// not move while they are filled.
	values, keys, headers := 0, 0, 0
	for i := range events {
		e := &events[i]
		values += wireSizeHint(e)
		keys += keyLen(e)
		if e.ExperimentID != "" {
			headers += 2
		}
	}
	if cap(enc.values) < values {
		enc.values = make([]byte, 0, values+values/4)
	}
	if cap(enc.keys) < keys {
		enc.keys = make([]byte, 0, keys)
	}
	if cap(enc.headers) < headers {
		enc.headers = make([]kgo.RecordHeader, 0, headers)
	}
	if cap(enc.recs) < len(events) {
		enc.recs = make([]kgo.Record, len(events))
		enc.ptrs = make([]*kgo.Record, len(events))
	}
	enc.values, enc.keys, enc.headers = enc.values[:0], enc.keys[:0], enc.headers[:0]
	enc.recs, enc.ptrs = enc.recs[:len(events)], enc.ptrs[:len(events)]
	if enc.Partitions <= 1 || len(events) < 2 {
		for i := range events {
			enc.ptrs[i] = enc.record(i, &events[i])
		}
		return enc.ptrs
	}
	for slot, i := range enc.byPartition(events) {
		enc.ptrs[i] = enc.record(slot, &events[i])
	}
	return enc.ptrs
}

// record encodes e as the next record, at recs[slot], and returns it.
func (enc *Encoder) record(slot int, e *telemetry.Event) *kgo.Record {
	start := len(enc.values)
	// When the hint was short (escapes) this reallocates: the earlier
	// values stay valid in the old array.
	enc.values = e.AppendJSON(enc.values)
	kstart := len(enc.keys)
	enc.keys = appendKey(enc.keys, e)
	r := &enc.recs[slot]
	*r = kgo.Record{Key: enc.keys[kstart:len(enc.keys):len(enc.keys)], Value: enc.values[start:len(enc.values):len(enc.values)]}
	if e.ExperimentID != "" {
		h := len(enc.headers)
		enc.headers = append(enc.headers,
			kgo.RecordHeader{Key: telemetry.AttrExperimentID, Value: unsafeBytes(e.ExperimentID)},
			kgo.RecordHeader{Key: telemetry.AttrCohort, Value: cohortHeader(e.Cohort)})
		r.Headers = enc.headers[h:len(enc.headers):len(enc.headers)]
	}
	return r
}

// byPartition returns the events' indexes ordered by their key's
// partition among enc.Partitions (keyPartitioner's choice), in the events'
// order within a partition.
func (enc *Encoder) byPartition(events []telemetry.Event) []int32 {
	n := enc.Partitions
	enc.part, enc.order = slices.Grow(enc.part[:0], len(events)), slices.Grow(enc.order[:0], len(events))
	enc.part, enc.order = enc.part[:len(events)], enc.order[:len(events)]
	var count [maxLaidOut + 1]int32
	for i := range events {
		p := partitionOf(keyHash(&events[i]), n)
		if p >= maxLaidOut {
			p = maxLaidOut // the rest together, in the events' order
		}
		enc.part[i] = p
		count[p]++
	}
	var next [maxLaidOut + 1]int32
	for p := 1; p < len(next); p++ {
		next[p] = next[p-1] + count[p-1]
	}
	for i, p := range enc.part {
		enc.order[next[p]] = int32(i)
		next[p]++
	}
	return enc.order
}

// maxLaidOut is the most partitions Records lays out one by one.
const maxLaidOut = 64

// partitionOf is kgo.SaramaCompatHasher's partition of a key hash among n.
func partitionOf(h uint32, n int) int32 {
	p := int32(h) % int32(n)
	if p < 0 {
		p = -p
	}
	return p
}

// keyHash is fnv32a(appendKey(nil, e)) without building the key.
func keyHash(e *telemetry.Event) uint32 {
	switch {
	case e.FlowKey != "":
		return fnv32aString(fnv32aString(fnv32aString(fnvOffset, e.Flow), "\x00"), e.FlowKey)
	case e.TraceID != "":
		return fnv32aString(fnvOffset, e.TraceID)
	default:
		return fnv32aString(fnvOffset, e.ID)
	}
}

// release drops the references the records hold (contexts, header values
// that view the events' strings), keeping the capacity.
func (enc *Encoder) release() {
	clear(enc.recs)
	clear(enc.headers)
}

// cohortBytes are the cohort header values, shared by every record, by
// cohort (an array: a map lookup per record was 2 % of the encoding's
// instructions, BenchmarkStageEncode).
var cohortBytes = func() (b [telemetry.CohortExperiment + 1][]byte) {
	for _, c := range []telemetry.Cohort{telemetry.CohortNone, telemetry.CohortControl, telemetry.CohortExperiment} {
		b[c] = []byte(c.String())
	}
	return b
}()

// cohortHeader is the header value of cohort c (nil for a value no
// cohort has).
func cohortHeader(c telemetry.Cohort) []byte {
	if int(c) < len(cohortBytes) {
		return cohortBytes[c]
	}
	return nil
}

// unsafeBytes views s as bytes without copying; franz-go only reads header
// values.
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s)) //nolint:gosec // G103: read-only view, see above
}

func keyLen(e *telemetry.Event) int {
	switch {
	case e.FlowKey != "":
		return len(e.Flow) + 1 + len(e.FlowKey)
	case e.TraceID != "":
		return len(e.TraceID)
	default:
		return len(e.ID)
	}
}

func appendKey(dst []byte, e *telemetry.Event) []byte {
	switch {
	case e.FlowKey != "":
		dst = append(dst, e.Flow...)
		dst = append(dst, 0)
		return append(dst, e.FlowKey...)
	case e.TraceID != "":
		return append(dst, e.TraceID...)
	default:
		return append(dst, e.ID...)
	}
}

// wireSizeHint bounds the length of e's wire form from above unless a
// string needs escapes (520: the fixed part with the longest numbers).
func wireSizeHint(e *telemetry.Event) int {
	n := 520 + len(e.ID) + len(e.Service) + len(e.Name) + len(e.TraceID) + len(e.SpanID) + len(e.ParentSpanID) +
		len(e.Flow) + len(e.FlowKey) + len(e.Stage) + len(e.ExperimentID) + len(e.ErrorType) + len(e.SubjectID) +
		len(e.Severity) + len(e.Body)
	for _, ss := range [...][]string{e.AttrKeys, e.AttrValues, e.ResKeys, e.ResValues} {
		for _, s := range ss {
			n += len(s) + 3
		}
	}
	return n
}

// WriteRecords writes raw records (tests write undecodable ones) to the
// configured topic and returns once Kafka acknowledged all of them
// (acks=all), or with an ErrUnavailable naming how many it did not. After a
// retriable failure (a dead or moved leader, too few in-sync replicas, a
// timeout, a refused connection) franz-go writes again the records Kafka
// did not acknowledge, with a growing pause, until all are acknowledged,
// an error is permanent, RetryFor has passed or ctx is done. A record whose
// acknowledgement was lost may be written twice; the event ids make the
// copy a duplicate every count collapses. The records belong to franz-go
// until WriteRecords returns.
func (p *Producer) WriteRecords(ctx context.Context, recs ...*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: write %d records to %s: producer closed", ErrUnavailable, len(recs), p.cfg.Topic)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: write %d records to %s: %w", ErrUnavailable, len(recs), p.cfg.Topic, err)
	}
	// A record that never reaches a broker (none answers) is failed by its
	// context: RetryFor plus one request's time at most.
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RetryFor+p.cfg.WriteTimeout+time.Second)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		first  error
	)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			failed++
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
		wg.Done()
	}
	wg.Add(len(recs))
	var now time.Time
	for i, r := range recs {
		r.Topic = p.cfg.Topic
		// The record's timestamp, read once per stampEvery records
		// instead of by franz-go for each (see stampEvery).
		if r.Timestamp.IsZero() {
			if i%stampEvery == 0 {
				now = time.Now()
			}
			r.Timestamp = now
		}
		p.cl.Produce(ctx, r, promise)
	}
	wg.Wait()
	if failed > 0 {
		return fmt.Errorf("%w: write %d records to %s: %d not acknowledged (%s): %w",
			ErrUnavailable, len(recs), p.cfg.Topic, failed, describe(first), first)
	}
	return nil
}

// describe says whether another attempt could succeed: a record too large
// or a Kafka error the protocol calls non-retriable (an unknown or
// unauthorised topic, an invalid request) fails again.
func describe(err error) string {
	var kerror *kerr.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "gave up waiting"
	case errors.Is(err, kgo.ErrClientClosed):
		return "producer closed"
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		return "retries exhausted"
	case errors.As(err, &kerror) && !kerror.Retriable:
		return "permanent"
	}
	return "retriable"
}

// Close waits for records still in flight and closes the connections. Safe
// to call twice; Publish after Close fails.
func (p *Producer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	// Publish waits for its records, so normally nothing is buffered;
	// Flush bounds what a Publish still in progress may leave.
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.WriteTimeout)
	defer cancel()
	err := p.cl.Flush(ctx)
	p.cl.Close()
	if err != nil {
		return fmt.Errorf("close kafka producer: flush: %w", err)
	}
	return nil
}
