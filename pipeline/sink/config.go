// Package sink moves events from Kafka into ClickHouse at least once:
// records are fetched by a franz-go group consumer, decoded, batched by
// rows, bytes and age, inserted with an explicit column list, and their
// offsets are committed only after ClickHouse acknowledged the insert (or the
// record is safely in the dead-letter topic). A failed insert is retried with
// the same rows in the same order, with capped exponential backoff and
// jitter, and never skipped. Replays after a crash produce rows with the
// same event ids, which the events table and every query deduplicate.
package sink

import (
	"errors"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/pipeline/bus"
)

// Config configures the sink.
type Config struct {
	// Config is the Kafka side, shared with ingest serve (pipeline/bus):
	// brokers, the topic read, how it and the dead-letter topic are
	// created when missing, and the dead-letter topic's name.
	bus.Config `yaml:",inline"`
	// Group is the consumer group; run several sinks with one group to
	// share partitions. Default: steadystate-sink.
	Group string `yaml:"group"`
	// MaxRows flushes a batch at this many rows while the sink keeps up
	// with the topic. Default: 100000.
	MaxRows int `yaml:"max_rows"`
	// BehindRows, when above MaxRows, flushes a batch at this many rows
	// instead while the sink is catching up (more than MaxRows records
	// unread in the topic beyond those fetched: a pre-filled topic, a
	// restart after an outage); MaxBytes must then hold that many records.
	// What it trades, as measured on 2 cores (ClickHouse 18.16, the 11
	// views): ClickHouse's CPU per 1M events inserted, the inserts' own
	// plus the merges they cause, fell from about 13 to 11 CPU-s from
	// 100k to 300k rows per insert (`ingestbench -ch-cost`), all of it in
	// the merges; but the sink-only benchmark on a 1M-event topic ran
	// 1.2x faster with 100k (`-paths B,B2 -alt-sink-args "--behind-rows
	// 100000 --max-bytes 67108864"` against 400k and 256 MiB: 36k vs 30k
	// events/s, sink CPU 7.1 vs 9.2 CPU-s per 1M): the first insert waits
	// for a whole batch, ClickHouse idles meanwhile, and the merges saved
	// happen after the rows are visible. Where the extra cost is, per
	// ClickHouse's own accounting (2026-11-30, `ingestbench -paths
	// B,B2,C,D -alt-sink-args "--behind-rows 300000 --max-bytes
	// 268435456"`, 3 interleaved rounds, twice, load 1-11): the inserts'
	// own CPU (system.query_log: the events part and every view) is the
	// same per row at 100k rows per insert (5.30 / 7.34 CPU-s per 1M), at
	// 200k (5.42 / 7.35) and in clickhouse-client's single 1M-row insert
	// (7.66); the rest of ClickHouse's CPU in the run, the merges of the
	// level-0 parts (120 at 100k, 70 at 200k, 29 for the single insert),
	// is 2.92 / 5.87, 1.31 / 2.94 and 1.28. So ClickHouse's CPU was
	// 0.82x / 0.79x with 200k-row inserts, but the sink's own 2.35x /
	// 2.53x and events/s 0.86x / 0.87x. Default: 0 (off: MaxRows).
	BehindRows int `yaml:"behind_rows"`
	// MaxBytes flushes a batch at this many bytes of record values. It also
	// bounds memory: fetching pauses while Inserts batches are being
	// inserted and the next is full, so the sink holds at most Inserts+2
	// batches (and one more recycled), each its records and a copy of their
	// strings (at most as many bytes again), plus per insert in flight the
	// ClickHouse columns of its block (about the records' size again). Live
	// traffic flushes on MaxAge long before; MaxRows typical records (about
	// 600 bytes) are about 60 MB. Default: 64 MiB.
	MaxBytes int `yaml:"max_bytes"`
	// MaxAge flushes a batch this long after its first record: about two
	// inserts per second while ClickHouse keeps up, and parts far below
	// 18.16's limits (many small inserts pile up parts). When it does not
	// (2 cores at 30k events/s: an insert takes seconds), the insert time,
	// not MaxAge, sets ingest-to-queryable latency (see AgeInserts; 1 s
	// against 500 ms: p99 3.8 s against 4.4 s in one pair of runs). What
	// the insert time is made of (`ingestbench -paths E`, 2026-11-30, 10
	// rounds in three invocations, 15-45k rows per insert, the machine
	// shared): about three quarters of an insert's time on the server its
	// thread was runnable, waiting for a core (query_log
	// OSCPUWaitMicroseconds), and the inserts' own CPU was 14-16.5 CPU-s
	// per 1M events; the least loaded round (load 5) had p99 0.78 s, and
	// its invocation's lowest round means were an insert of 0.53 s, 0.24
	// s of it waiting, and batches 0.5 s old; 250ms against 500ms (-paths
	// E,E2 -alt-sink-args "--max-age 250ms", 4 round pairs, load 5-13):
	// p99 12.6 s [4.9..20.1] against 6.2 s [3.4..16.0], worse in all 4
	// (E2 runs second in each pair). So latency here follows the CPU the
	// machine has left, not this setting, and 500ms stays. (Every p99 in
	// these comments, measured before 2026-12-01, includes two waits found
	// since: the sink's start, up to 6 s for its dead-letter topic's
	// metadata (bus.EnsureTopic), and system CPU on file creation after the
	// benchmark's own drops (queries/bench/bench_detach_database.sql). The
	// pairs compared rounds with the same waits, but the p99 values are not
	// steady-state latencies; to be measured again.)
	// A batch this old waits for MaxRows or MaxBytes instead while more
	// than MaxRows records are still unread in the topic, beyond those
	// fetched (the sink is catching up: large inserts cost ClickHouse far
	// less per row), or
	// while the previous batch is still being inserted; never past
	// 10*MaxAge. Default: 500ms.
	MaxAge time.Duration `yaml:"max_age"`
	// Inserts is how many batches are inserted at once. ClickHouse runs an
	// insert (the events table and every view) on one thread, so a second
	// insert in flight lets it use a second core while the first is
	// processed. Offsets are still committed in order, each only after its
	// batch and every batch before it are stored. Memory grows by a batch
	// per insert. Default: 2.
	Inserts int `yaml:"inserts"`
	// AgeInserts is how many of the Inserts may be batches flushed by
	// MaxAge (not full) at once; the rest are kept for full batches. With
	// 1, a batch that is due while an insert is in flight keeps growing
	// until that insert returns (fewer, larger inserts). What 2 trades, as
	// measured on 2 cores (ClickHouse 18.16, every view; `ingestbench
	// -paths E,E2 -alt-sink-args "--age-inserts 2"`, 3 interleaved
	// rounds, 10k events/s measured + 20k background, the machine 100 %
	// busy with other work on the same cores): p99 ingest-to-queryable
	// 11.1 s [3.9..20.4] against 10.3 s [7.3..11.4] with 1, sink batch age
	// 3.8 s against 3.6 s, insert time 4.7 s against 4.3 s. At that load
	// ClickHouse is the bottleneck and a second insert in flight only
	// shares its CPU, so no gain was shown; the default stays 1 until a
	// quiet machine shows one. Again on 2026-11-30 (4 round pairs, load
	// 5-22, the machine 87-100 % busy): p99 9.8 s [2.8..19.3] with 2
	// against 7.1 s [0.8..9.3] with 1, worse in 3 of the 4 pairs; the
	// inserts' time on the server was mostly their threads waiting for a
	// core (system.query_log OSCPUWaitMicroseconds: 1.3 of 1.8 s with 1,
	// 2.3 of 3.0 s with 2). Default: 1.
	AgeInserts int `yaml:"age_inserts"`
	// ParallelViews sets ClickHouse's parallel_view_processing on every
	// insert: the server feeds the materialized views of the inserted
	// block on up to max_threads threads at once instead of one after
	// another on the insert's thread (TestInsertSettingsReachTheServer).
	// It showed no gain where the server's cores are already busy, as on
	// 2 cores shared with serve, Kafka and the sink (measured 2026-11-30,
	// the machine 87-100 % busy, other work on it too, so as pairs): the
	// sink-only benchmark's ClickHouse CPU per 1M events 1.14x
	// [1.02..1.92] with it, round by round (`ingestbench -paths B,B2
	// -alt-sink-args --parallel-views`, 3 rounds); the latency run
	// (-paths E,E2, 9 round pairs in three invocations) p99 6.4 s
	// [1.1..12.6] with it against 5.9 s [2.7..13.0], lower in 2 of the 9
	// pairs, ClickHouse's CPU per 1M the same (25.7 vs 25.4 in the 4-pair
	// invocation); 100k-row inserts by clickhouse-client, with
	// against without, 5 of each interleaved: CPU 0.73 vs 0.77 s
	// (benchmark rows) and 0.60 vs 0.50 s (realistic rows), time 1.8 vs
	// 1.6 s and 1.2 vs 0.7 s; on a current engine (chDB 26.9, 6 of each)
	// 1.9 vs 2.1 s, CPU 1.07 vs 1.02 s. The extra threads only share the
	// same cores. Worth measuring where ClickHouse has cores to spare.
	// Default: false.
	ParallelViews bool `yaml:"parallel_views"`
	// MaxEventBytes dead-letters larger records. Default: 1 MiB.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// RetryInitial and RetryMax bound the insert backoff. Default: 200ms, 30s.
	RetryInitial time.Duration `yaml:"retry_initial"`
	RetryMax     time.Duration `yaml:"retry_max"`
	// ShutdownTimeout bounds the final flush and commit on shutdown. Default: 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Heartbeat is how often an idle sink records that it is caught up,
	// so flow checks can tell "idle" from "stopped". Default: 2s.
	Heartbeat time.Duration `yaml:"heartbeat"`
	_         struct{}
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{
		Config: bus.NewDefaultConfig(), Group: "steadystate-sink",
		MaxRows: 100_000, MaxBytes: 64 << 20, MaxAge: 500 * time.Millisecond, Inserts: 2, AgeInserts: 1, MaxEventBytes: 1 << 20,
		RetryInitial: 200 * time.Millisecond, RetryMax: 30 * time.Second, ShutdownTimeout: 20 * time.Second,
		Heartbeat: 2 * time.Second,
	}
}

// behindRows is the backlog (records unread in the topic) above which the
// sink is catching up and lets batches grow past MaxAge: more than a full
// batch, so a moment's hiccup at a steady rate does not trade a few small
// inserts for seconds of latency.
func (c Config) behindRows() int64 { return int64(c.MaxRows) }

// rowsCap is the rows at which a batch is full.
func (c Config) rowsCap(behind bool) int {
	if !behind {
		return c.MaxRows
	}
	return max(c.BehindRows, c.MaxRows)
}

// maxBehindAge is the oldest a batch gets while the sink catches up.
func (c Config) maxBehindAge() time.Duration { return 10 * c.MaxAge }

// Validate checks the config without dialling.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate()}
	if c.Group == "" {
		errs = append(errs, errors.New("group: must not be empty"))
	}
	if c.MaxRows < 1 {
		errs = append(errs, fmt.Errorf("max_rows %d: must be at least 1", c.MaxRows))
	}
	if c.BehindRows < 0 {
		errs = append(errs, fmt.Errorf("behind_rows %d: must not be negative", c.BehindRows))
	}
	if c.MaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_bytes %d: must be at least 1024", c.MaxBytes))
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("max_age %s: must be positive", c.MaxAge))
	}
	if c.Inserts < 1 || c.Inserts > 8 {
		errs = append(errs, fmt.Errorf("inserts %d: must be in [1, 8]", c.Inserts))
	}
	if c.AgeInserts < 1 || c.AgeInserts > c.Inserts {
		errs = append(errs, fmt.Errorf("age_inserts %d: must be in [1, inserts]", c.AgeInserts))
	}
	if c.MaxEventBytes < 1024 || c.MaxEventBytes > c.MaxBytes {
		errs = append(errs, fmt.Errorf("max_event_bytes %d: must be in [1024, max_bytes]", c.MaxEventBytes))
	}
	if c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial {
		errs = append(errs, fmt.Errorf("retry_initial %s, retry_max %s: want 0 < initial <= max", c.RetryInitial, c.RetryMax))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout %s: must be positive", c.ShutdownTimeout))
	}
	if c.Heartbeat <= 0 {
		errs = append(errs, fmt.Errorf("heartbeat %s: must be positive", c.Heartbeat))
	}
	return errors.Join(errs...)
}
