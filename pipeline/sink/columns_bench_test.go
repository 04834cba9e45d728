package sink

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// eventsColumnTypes are the events table's column types, in
// telemetry.Columns order (queries/schema/0001_events.up.sql).
var eventsColumnTypes = []string{
	"String", "DateTime", "UInt64", "DateTime", "UInt64",
	"Enum8('span' = 1, 'log' = 2, 'event' = 3, 'alert' = 4)", "String", "String",
	"String", "String", "String", "String", "String", "String", "String",
	"Enum8('none' = 0, 'control' = 1, 'experiment' = 2)",
	"UInt8", "Enum8('unset' = 0, 'ok' = 1, 'error' = 2)", "UInt8", "String", "UInt16", "UInt64", "String", "String",
	"Array(String)", "Array(String)", "Array(String)", "Array(String)", "String", "Int32", "Int64",
}

// blockAppender is an insert block as the driver prepares it from the
// server's answer, without a server.
type blockAppender struct{ block *proto.Block }

func (a blockAppender) Columns() []column.Interface { return slices.Clone(a.block.Columns) }

type blockColumn struct{ col column.Interface }

func (c blockColumn) Append(v any) error {
	_, err := c.col.Append(v)
	return err
}
func (c blockColumn) AppendRow(v any) error { return c.col.AppendRow(v) }

func (a blockAppender) Column(i int) driver.BatchColumn { return blockColumn{a.block.Columns[i]} }

func newBlockAppender(tb testing.TB) blockAppender {
	tb.Helper()
	block := proto.NewBlock()
	for i, name := range telemetry.Columns {
		if err := block.AddColumn(name, column.Type(eventsColumnTypes[i])); err != nil {
			tb.Fatal(err)
		}
	}
	return blockAppender{block}
}

// roundTrip encodes the block as Send does and decodes it with the
// driver's own column decoders, as the server would read it.
func (a blockAppender) roundTrip(tb testing.TB) *proto.Block {
	tb.Helper()
	buf := new(chproto.Buffer)
	if err := a.block.Encode(buf, 54451); err != nil {
		tb.Fatal(err)
	}
	out := proto.NewBlock()
	if err := out.Decode(chproto.NewReader(bytes.NewReader(buf.Buf)), 54451); err != nil {
		tb.Fatal(err)
	}
	return out
}

func benchWire(i int) []byte {
	e := telemetry.Event{
		ID: fmt.Sprintf("tput-%09d", i), TimeNs: 1_700_000_000_000_000_000 + int64(i), IngestNs: 1_700_000_000_100_000_000,
		Kind: telemetry.KindEvent, Service: "checkout", Name: "GET /checkout", TraceID: fmt.Sprintf("%032x", i),
		ExperimentID: "exp-1", Cohort: telemetry.CohortControl, Status: telemetry.StatusOK, HTTPStatus: 200, DurationNs: uint64(i%700) * 1e6,
		AttrKeys: []string{"region", "tenant"}, AttrValues: []string{"eu", fmt.Sprintf("t%d", i%50)},
		ResKeys: []string{"service.name"}, ResValues: []string{"checkout"},
	}
	return e.AppendJSON(nil)
}

// BenchmarkSinkPath is the sink's CPU work per event outside Kafka and the
// network: decode a record into the batch, count duplicates, and every
// 10,000 records build the insert's columns and encode the native block
// as Send would (before compression). One op is one event.
func BenchmarkSinkPath(b *testing.B) {
	const batchRows = 10_000
	msgs := make([]*kgo.Record, 4*batchRows)
	for i := range msgs {
		msgs[i] = &kgo.Record{Partition: int32(i % 6), Offset: int64(i), Value: benchWire(i)}
	}
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 20)}
	ctx := context.Background()
	buf := new(chproto.Buffer)
	bt := newBatch()
	var cols insertColumns
	b.ReportAllocs()
	b.SetBytes(int64(len(msgs[0].Value)))
	for i := 0; b.Loop(); i++ {
		if err := s.accept(ctx, bt, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		if bt.rows.len() == batchRows {
			s.countDuplicates(bt)
			ap := newBlockAppender(b)
			if err := cols.fill(ap, bt, 0, bt.rows.len()); err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if err := ap.block.Encode(buf, 54451); err != nil {
				b.Fatal(err)
			}
			bt.reset()
		}
	}
}
