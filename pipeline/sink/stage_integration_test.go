//go:build integration

package sink

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/produce"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// BenchmarkStageConsume is the sink's Kafka fetch: franz-go's group
// consumer with the sink's settings and a fresh consumer group reading a 6-partition
// topic pre-filled with 100,000 typical records, one op reading all of
// them (joining the group included). The CPU is this process's, not the
// broker's.
func BenchmarkStageConsume(b *testing.B) { benchConsume(b) }

// BenchmarkConsumeFetchSizes measures the fetch sizes (FetchMaxBytes,
// FetchMaxPartitionBytes) around the sink's 16 MiB / 4 MiB: CPU of this
// process per event. Measured 2026-11-30 (3 runs each, 100k records,
// machine shared): medians 1,852 ns/event at 4/1 MiB, 1,109 at 16/4, 1,058
// at 64/16: the sink's 16/4 stays (64/16 is within the spread and would
// let franz-go buffer 48 MiB more per broker).
func BenchmarkConsumeFetchSizes(b *testing.B) {
	for _, sz := range [][2]int32{{4 << 20, 1 << 20}, {16 << 20, 4 << 20}, {64 << 20, 16 << 20}} {
		b.Run(fmt.Sprintf("max_%dMiB_partition_%dMiB", sz[0]>>20, sz[1]>>20), func(b *testing.B) {
			benchConsume(b, kgo.FetchMaxBytes(sz[0]), kgo.FetchMaxPartitionBytes(sz[1]))
		})
	}
}

// benchConsume is BenchmarkStageConsume with extra consumer options.
func benchConsume(b *testing.B, extra ...kgo.Opt) {
	b.Helper()
	const records = 100_000
	ctx := context.Background()
	cfg := NewDefaultConfig()
	cfg.Brokers, cfg.Topic = kafkatest.Brokers(), kafkatest.Topic(b, 6)
	pcfg := produce.NewDefaultConfig()
	pcfg.Brokers, pcfg.Topic = cfg.Brokers, cfg.Topic
	p, err := produce.New(pcfg)
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]*kgo.Record, 0, 1000)
	for i := 0; i < records; i++ {
		msgs = append(msgs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: benchWire(i)})
		if len(msgs) == cap(msgs) {
			if err := p.WriteRecords(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	_ = p.Close()
	s := &Sink{cfg: cfg}
	m := stagecpu.Start()
	n := 0
	for group := 0; b.Loop(); group++ {
		// One op reads the whole topic with a fresh consumer group.
		s.cfg.Group = fmt.Sprintf("stage-consume-%d-%d", time.Now().UnixNano(), group)
		r, err := kgo.NewClient(append(s.consumerOpts(), extra...)...)
		if err != nil {
			b.Fatal(err)
		}
		for got := 0; got < records; {
			fetches := r.PollRecords(ctx, pollRecords)
			if err := fetches.Err0(); err != nil {
				b.Fatal(err)
			}
			got += fetches.NumRecords()
			r.AllowRebalance() // as the sink does (kgo.BlockRebalanceOnPoll)
		}
		r.Close()
		n += records
	}
	m.Report(b, n)
}

// BenchmarkStageInsert is the sink's insert of a 50,000-row batch into a
// fresh database on the local ClickHouse (events table and its views):
// prepare, send the block compressed, wait for the server's answer. The
// column build, measured by BenchmarkStageColumns, is left out; the CPU is
// this process's, not the server's.
func BenchmarkStageInsert(b *testing.B) {
	benchInsert(b, chtest.Open(b), store.NewDefaultConfig().Compression)
}

// BenchmarkInsertCompression is BenchmarkStageInsert with each block
// compression of the native protocol; server-ns/event is the ClickHouse
// server's CPU (from /proc, its pid from $STEADYSTATE_STATE_DIR), which
// includes whatever else the server did meanwhile, and wire-B/event the
// block's bytes as sent (its columns in the native encoding, compressed
// with the method as clickhouse-go does): what a sink on another host than
// ClickHouse sends over the network.
func BenchmarkInsertCompression(b *testing.B) {
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run("compression="+comp, func(b *testing.B) {
			cfg := chtest.Config(b)
			cfg.Compression = comp
			benchInsert(b, chtest.OpenConfig(b, cfg), comp)
		})
	}
}

// BenchmarkInsertViews measures what the materialized views cost the
// server per inserted row: the same inserts into the events table with
// every view, with one view each, and with none.
func BenchmarkInsertViews(b *testing.B) {
	views := []string{"cohort_stats", "cohort_tally", "flow_stages"}
	for _, keep := range []string{"all", "none", "cohort_stats", "cohort_tally", "flow_stages"} {
		b.Run("views="+keep, func(b *testing.B) {
			st := chtest.Open(b)
			for _, v := range views {
				if keep != "all" && keep != v {
					if err := st.Conn.Exec(context.Background(), "DROP TABLE "+st.DB+"."+v); err != nil {
						b.Fatal(err)
					}
				}
			}
			benchInsert(b, st, store.NewDefaultConfig().Compression)
		})
	}
}

func serverCPU() time.Duration { return stagecpu.PIDCPU(stagecpu.StatePID("clickhouse")) }

func benchInsert(b *testing.B, st *store.Client, compression string) {
	b.Helper()
	msgs := stageMessages(stageBatch)
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 19), store: st}
	s.insertSQL = fmt.Sprintf("INSERT INTO %s.events (%s)", st.DB, strings.Join(telemetry.Columns, ", "))
	ctx := context.Background()
	bt := newBatch()
	for i := range msgs {
		if err := s.accept(ctx, bt, msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
	var cols insertColumns
	var wire int
	m := stagecpu.Start()
	server0 := serverCPU()
	n := 0
	for b.Loop() {
		ib, err := st.Conn.PrepareBatch(ctx, s.insertSQL)
		if err != nil {
			b.Fatal(err)
		}
		c0 := stagecpu.ProcessCPU()
		if err := cols.fill(ib, bt, 0, bt.rows.len()); err != nil {
			b.Fatal(err)
		}
		m.Exclude(stagecpu.ProcessCPU() - c0)
		if n == 0 {
			wire = blockWireBytes(b, ib, compression)
		}
		if err := ib.Send(); err != nil {
			b.Fatal(err)
		}
		n += bt.rows.len()
	}
	m.Report(b, n)
	b.ReportMetric(float64(wire)/float64(bt.rows.len()), "wire-B/event")
	if server0 > 0 {
		b.ReportMetric(float64((serverCPU()-server0).Nanoseconds())/float64(n), "server-ns/event")
	}
	var stored uint64
	if err := st.Conn.QueryRow(ctx, "SELECT uniqExact(event_id) FROM "+st.DB+".events").Scan(&stored); err != nil || stored != stageBatch {
		b.Fatalf("%d distinct events stored, want %d (%v)", stored, stageBatch, err)
	}
}

// blockWireBytes is the size of the batch's block as the native protocol
// sends it: every column encoded, then compressed with method (none, lz4
// or zstd) like clickhouse-go's connection does.
func blockWireBytes(b *testing.B, ib driver.Batch, method string) int {
	b.Helper()
	var buf chproto.Buffer
	for _, c := range ib.Columns() {
		c.Encode(&buf)
	}
	var m compress.Method
	switch method {
	case "", "none":
		return len(buf.Buf)
	case "lz4":
		m = compress.LZ4
	case "zstd":
		m = compress.ZSTD
	default:
		b.Fatalf("compression %q", method)
	}
	w := compress.NewWriter(compress.LevelZero, m)
	if err := w.Compress(buf.Buf); err != nil {
		b.Fatal(err)
	}
	return len(w.Data)
}
