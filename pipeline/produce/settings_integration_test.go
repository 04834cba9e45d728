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
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// produceSetting is one producer configuration BenchmarkProduceSettingsCost
// compares.
type produceSetting struct {
	name        string
	compression string
	linger      time.Duration
	batchBytes  int64
}

// BenchmarkProduceSettingsCost measures what a producer setting costs the
// whole path, not only the producer: for each setting, interleaved over
// rounds (A B C ... A B C ...) so a slow minute of a shared machine hits
// each alike, it writes the bench generator's events (8 callers, 1000 per
// request, acks=all) to a fresh topic and reads them all back with a
// franz-go consumer configured like ingest sink's fetches. It reports,
// per setting, the median over the rounds of the CPU ns per event of the
// producer (this process while producing), of the Kafka broker (its
// /proc/<pid>/stat while producing and consuming, from
// $STEADYSTATE_STATE_DIR/kafka/kafka.pid) and of the consumer (this
// process while consuming), their sum, and the bytes per event of the
// record batches as fetched (what crosses the network).
// PRODUCE_SETTINGS=none,snappy picks settings by name,
// PRODUCE_SETTINGS_ROUNDS the rounds, and PRODUCE_SETTINGS_IDS=random
// gives the events random trace and event ids (the generator's count up
// and compress far better than real traffic). Other users of the shared
// broker show up in its figure: compare settings within one run.
//
//	go test -tags integration -run '^$' -bench BenchmarkProduceSettingsCost -benchtime 1x ./pipeline/produce/
func BenchmarkProduceSettingsCost(b *testing.B) {
	settings := []produceSetting{
		{"none", "none", 2 * time.Millisecond, 1 << 20},
		{"lz4", "lz4", 2 * time.Millisecond, 1 << 20},
		{"snappy", "snappy", 2 * time.Millisecond, 1 << 20},
		{"zstd", "zstd", 2 * time.Millisecond, 1 << 20},
		{"none-linger10ms", "none", 10 * time.Millisecond, 1 << 20},
		{"none-batch4MiB", "none", 2 * time.Millisecond, 4 << 20},
	}
	rounds, requests := 3, 200
	if v, err := strconv.Atoi(os.Getenv("PRODUCE_SETTINGS_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	kpid := stagecpu.StatePID("kafka")
	if kpid == 0 {
		b.Log("no $STEADYSTATE_STATE_DIR/kafka/kafka.pid: the broker's CPU reads 0")
	}
	// Each of the 8 callers writes its own 1000 events: a batch holds
	// records of several requests, and the same events in each would
	// compress as no real traffic does.
	sets := make([][]telemetry.Event, 8)
	random := os.Getenv("PRODUCE_SETTINGS_IDS") == "random"
	rng := rand.New(rand.NewPCG(1, 2))
	for w := range sets {
		sets[w] = stageEvents(1000)
		for i := range sets[w] {
			e := &sets[w][i]
			e.ID = fmt.Sprintf("w%d-%s", w, e.ID)
			if random {
				// The generator's ids count up and compress far better
				// than real ones: random trace ids (16 random bytes in
				// hex, as OTLP SDKs make them) and event ids (a hash, in
				// hex) instead.
				e.TraceID = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
				e.ID = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
			}
		}
	}
	if v := os.Getenv("PRODUCE_SETTINGS"); v != "" {
		settings = slices.DeleteFunc(settings, func(st produceSetting) bool { return !slices.Contains(strings.Split(v, ","), st.name) })
	}
	type cost struct{ produce, broker, consume, wire []float64 }
	costs := make([]cost, len(settings))
	for b.Loop() {
		for r := 0; r < rounds; r++ {
			for i, st := range settings {
				cfg := NewDefaultConfig()
				cfg.Compression, cfg.BatchTimeout, cfg.BatchBytes = st.compression, st.linger, st.batchBytes
				cfg.Topic = fmt.Sprintf("test.produce-settings.%s.%d", st.name, time.Now().UnixNano())
				ctx := context.Background()
				if err := bus.EnsureTopic(ctx, cfg.Brokers, cfg.EventsTopic()); err != nil {
					b.Fatalf("Kafka is not usable at %v (start it with `make up`): %v", cfg.Brokers, err)
				}
				p, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := publishEach(ctx, p, sets, 8, cfg.Partitions); err != nil { // warm-up: connections, leaders
					b.Fatal(err)
				}
				n := requests * 1000
				k0, c0 := stagecpu.PIDCPU(kpid), stagecpu.ProcessCPU()
				if err := publishEach(ctx, p, sets, requests, cfg.Partitions); err != nil {
					b.Fatal(err)
				}
				c1, k1 := stagecpu.ProcessCPU(), stagecpu.PIDCPU(kpid)
				_ = p.Close()
				got, wire, err := consumeAll(ctx, cfg, n+8*1000)
				c2, k2 := stagecpu.ProcessCPU(), stagecpu.PIDCPU(kpid)
				_ = bus.DeleteTopic(context.Background(), cfg.Brokers, cfg.Topic)
				if err != nil {
					b.Fatalf("%s: consumed %d records: %v", st.name, got, err)
				}
				all := float64(n + 8*1000) // the consumer and the broker's fetch side read the warm-up too
				costs[i].produce = append(costs[i].produce, float64((c1-c0).Nanoseconds())/float64(n))
				costs[i].consume = append(costs[i].consume, float64((c2-c1).Nanoseconds())/all)
				costs[i].wire = append(costs[i].wire, float64(wire)/all)
				costs[i].broker = append(costs[i].broker, float64((k1-k0).Nanoseconds())/float64(n)+float64((k2-k1).Nanoseconds())/all)
			}
		}
	}
	for i, st := range settings {
		c := costs[i]
		sum := make([]float64, len(c.produce))
		for j := range sum {
			sum[j] = c.produce[j] + c.broker[j] + c.consume[j]
		}
		b.ReportMetric(stagecpu.Median(c.produce), st.name+"-producer-ns/event")
		b.ReportMetric(stagecpu.Median(c.broker), st.name+"-broker-ns/event")
		b.ReportMetric(stagecpu.Median(c.consume), st.name+"-consumer-ns/event")
		b.ReportMetric(stagecpu.Median(sum), st.name+"-total-ns/event")
		b.ReportMetric(stagecpu.Median(c.wire), st.name+"-wire-B/event")
		b.Logf("%-16s producer %s  broker %s  consumer %s  total %s ns/event; on the wire %s B/event (median [min..max] of %d rounds)",
			st.name, spreadOf(c.produce), spreadOf(c.broker), spreadOf(c.consume), spreadOf(sum), spreadOf(c.wire), len(sum))
	}
}

// consumeAll reads every record of cfg.Topic from the start, with the
// sink's fetch settings, until want records arrived; it returns how many,
// and the bytes of the record batches as fetched (compressed, as they
// cross the network from the broker, and from the producer to it).
func consumeAll(ctx context.Context, cfg Config, want int) (int, int64, error) {
	var wire wireBytes
	cl, err := kgo.NewClient(append(cfg.ClientOpts(),
		kgo.WithHooks(&wire),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMinBytes(1), kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(4<<20), kgo.FetchMaxWait(100*time.Millisecond),
	)...)
	if err != nil {
		return 0, 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	got := 0
	for got < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return got, wire.n.Load(), err
		}
		fs.EachRecord(func(*kgo.Record) { got++ })
	}
	return got, wire.n.Load(), nil
}

// wireBytes sums the fetched record batches' sizes as Kafka sent them.
type wireBytes struct{ n atomic.Int64 }

func (w *wireBytes) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	w.n.Add(int64(m.CompressedBytes))
}

func spreadOf(xs []float64) string {
	return fmt.Sprintf("%.0f [%.0f..%.0f]", stagecpu.Median(xs), slices.Min(xs), slices.Max(xs))
}
