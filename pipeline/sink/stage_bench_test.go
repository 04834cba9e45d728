package sink

import (
	"context"
	"testing"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
)

const stageBatch = 50_000

func stageMessages(n int) []*kgo.Record {
	msgs := make([]*kgo.Record, n)
	for i := range msgs {
		msgs[i] = &kgo.Record{Partition: int32(i % 6), Offset: int64(i), Value: benchWire(i)}
	}
	return msgs
}

// BenchmarkStageDecode is the sink's decode of a record into the batch
// (wire decoder, bookkeeping) and the batch's duplicate count, which the
// dispatcher does as the batch is handed over.
func BenchmarkStageDecode(b *testing.B) {
	msgs := stageMessages(stageBatch)
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 19)}
	ctx := context.Background()
	bt := newBatch()
	m := stagecpu.Start()
	n := 0
	for b.Loop() {
		for i := range msgs {
			if err := s.accept(ctx, bt, msgs[i]); err != nil {
				b.Fatal(err)
			}
		}
		s.countDuplicates(bt)
		n += len(msgs)
		bt.reset()
	}
	m.Report(b, n)
}

// BenchmarkStageColumns is the insert's column build: a batch of decoded
// events into clickhouse-go's columns and the native block encoding that
// Send does (before compression).
func BenchmarkStageColumns(b *testing.B) {
	msgs := stageMessages(stageBatch)
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 19)}
	ctx := context.Background()
	bt := newBatch()
	for i := range msgs {
		if err := s.accept(ctx, bt, msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
	buf := new(chproto.Buffer)
	var cols insertColumns
	m := stagecpu.Start()
	n := 0
	for b.Loop() {
		ap := newBlockAppender(b) // as the driver prepares each batch
		if err := cols.fill(ap, bt, 0, bt.rows.len()); err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := ap.block.Encode(buf, 54451); err != nil {
			b.Fatal(err)
		}
		n += bt.rows.len()
	}
	m.Report(b, n)
}

// BenchmarkFirstBatch is a new sink's first batch: MaxRows records decoded
// into a batch with no size to start from (see reserveFirst). Run it as
// -benchtime 1x in a fresh process, as a sink starts: its pages are new.
func BenchmarkFirstBatch(b *testing.B) {
	cfg := NewDefaultConfig()
	msgs := stageMessages(cfg.MaxRows)
	ctx := context.Background()
	m := stagecpu.Start()
	n := 0
	for b.Loop() {
		s := &Sink{cfg: cfg, m: newMetrics(nil), seen: newRecentIDs(1 << 19)}
		bt := newBatch()
		for i := range msgs {
			if err := s.accept(ctx, bt, msgs[i]); err != nil {
				b.Fatal(err)
			}
		}
		n += len(msgs)
	}
	m.Report(b, n)
}
