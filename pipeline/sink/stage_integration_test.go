//go:build integration

package sink

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/produce"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// BenchmarkStageConsume is the sink's Kafka fetch: kafka-go's reader with
// the sink's settings and a fresh consumer group reading a 6-partition
// topic pre-filled with 100,000 typical records. The CPU is this
// process's, not the broker's.
func BenchmarkStageConsume(b *testing.B) {
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
	msgs := make([]kafka.Message, 0, 1000)
	for i := 0; i < records; i++ {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint(i)), Value: benchWire(i)})
		if len(msgs) == cap(msgs) {
			if err := p.WriteMessages(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	_ = p.Close()
	s := &Sink{cfg: cfg}
	var r *kafka.Reader
	left, group := 0, 0
	m := stagecpu.Start()
	n := 0
	for b.Loop() {
		if left == 0 {
			if r != nil {
				_ = r.Close()
			}
			group++
			s.cfg.Group = fmt.Sprintf("stage-consume-%d-%d", time.Now().UnixNano(), group)
			r = kafka.NewReader(s.readerConfig())
			left = records
		}
		if _, err := r.FetchMessage(ctx); err != nil {
			b.Fatal(err)
		}
		left--
		n++
	}
	m.Report(b, n)
	_ = r.Close()
}

// BenchmarkStageInsert is the sink's insert of a 50,000-row batch into a
// fresh database on the local ClickHouse (events table and its views):
// prepare, send the block compressed, wait for the server's answer. The
// column build, measured by BenchmarkStageColumns, is left out; the CPU is
// this process's, not the server's.
func BenchmarkStageInsert(b *testing.B) {
	st := chtest.Open(b)
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
	m := stagecpu.Start()
	n := 0
	for b.Loop() {
		ib, err := st.Conn.PrepareBatch(ctx, s.insertSQL)
		if err != nil {
			b.Fatal(err)
		}
		c0 := stagecpu.ProcessCPU()
		if err := appendColumns(ib, bt, 0, len(bt.events)); err != nil {
			b.Fatal(err)
		}
		m.Exclude(stagecpu.ProcessCPU() - c0)
		if err := ib.Send(); err != nil {
			b.Fatal(err)
		}
		n += len(bt.events)
	}
	m.Report(b, n)
	var stored uint64
	if err := st.Conn.QueryRow(ctx, "SELECT uniqExact(event_id) FROM "+st.DB+".events").Scan(&stored); err != nil || stored != stageBatch {
		b.Fatalf("%d distinct events stored, want %d (%v)", stored, stageBatch, err)
	}
}
