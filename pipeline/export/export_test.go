package export

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

func events(n int) []telemetry.Event {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	out := make([]telemetry.Event, n)
	for i := range out {
		out[i] = telemetry.Event{
			ID: fmt.Sprintf("ev-%05d", i), TimeNs: t0.Add(time.Duration(i) * time.Millisecond).UnixNano(), IngestNs: t0.UnixNano(),
			Kind: telemetry.KindSpan, Service: "checkout", Name: "GET /checkout", ExperimentID: "exp",
			Cohort: telemetry.Cohort(1 + i%2), Status: telemetry.StatusOK, IsError: i%7 == 0, HTTPStatus: 200,
			DurationNs: uint64(i) * 1500, AttrKeys: []string{"region", "user.tier"}, AttrValues: []string{"eu", fmt.Sprint(i % 3)},
		}
	}
	out[3].AttrKeys, out[3].AttrValues = nil, nil // no attributes: an empty map
	return out
}

func write(t *testing.T, format Format, evs []telemetry.Event, batch int, dst *bytes.Buffer) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w, err := NewWriter(dst, format, Options{BatchRows: batch, Allocator: mem})
	require.NoError(t, err)
	for i := range evs {
		require.NoError(t, w.Append(&evs[i]))
	}
	assert.Equal(t, int64(len(evs)), w.Rows())
	require.NoError(t, w.Close())
}

func TestParquetRoundTrip(t *testing.T) {
	evs := events(2500)
	var buf bytes.Buffer
	write(t, Parquet, evs, 1000, &buf)

	rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	defer rdr.Close()
	assert.Equal(t, 3, rdr.NumRowGroups(), "one row group per batch of 1000")
	assert.Equal(t, int64(2500), rdr.NumRows())
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	defer tbl.Release()
	require.Len(t, tbl.Schema().Fields(), len(Schema.Fields()))
	for i, f := range Schema.Fields() {
		got := tbl.Schema().Field(i)
		assert.Equal(t, f.Name, got.Name)
		assert.True(t, arrow.TypeEqual(f.Type, got.Type), "%s: %s, want %s", f.Name, got.Type, f.Type)
	}

	col := func(name string) *arrow.Chunked {
		c := tbl.Column(tbl.Schema().FieldIndices(name)[0]).Data()
		require.Len(t, c.Chunks(), 1)
		return c
	}
	ids := col("event_id").Chunk(0).(*array.String)
	assert.Equal(t, "ev-02000", ids.Value(2000))
	dur := col("duration_ms").Chunk(0).(*array.Float64)
	assert.InDelta(t, 0.015, dur.Value(10), 1e-12)
	ts := col("time").Chunk(0).(*array.Timestamp)
	assert.Equal(t, arrow.Timestamp(evs[5].TimeNs), ts.Value(5))
	m := col("attributes").Chunk(0).(*array.Map)
	lo, hi := m.ValueOffsets(4)
	assert.Equal(t, int64(2), hi-lo)
	assert.Equal(t, "user.tier", m.Keys().(*array.String).Value(int(lo+1)))
	assert.Equal(t, "1", m.Items().(*array.String).Value(int(lo+1)))
	lo, hi = m.ValueOffsets(3)
	assert.Equal(t, lo, hi, "an event without attributes has an empty map")
	coh := col("cohort").Chunk(0).(*array.String)
	assert.Equal(t, "control", coh.Value(0))
	assert.Equal(t, "experiment", coh.Value(1))
}

func TestArrowFileAndStream(t *testing.T) {
	evs := events(300)
	var stream bytes.Buffer
	write(t, ArrowStream, evs, 128, &stream)
	r, err := ipc.NewReader(&stream)
	require.NoError(t, err)
	defer r.Release()
	var rows, batches int64
	for r.Next() {
		rows += r.Record().NumRows()
		batches++
	}
	require.NoError(t, r.Err())
	assert.Equal(t, int64(300), rows)
	assert.Equal(t, int64(3), batches)

	path := filepath.Join(t.TempDir(), "run.arrow")
	f, err := os.Create(path)
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	w, err := NewWriter(f, Arrow, Options{BatchRows: 100, Allocator: mem})
	require.NoError(t, err)
	for i := range evs {
		require.NoError(t, w.Append(&evs[i]))
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	mem.AssertSize(t, 0)
	g, err := os.Open(path)
	require.NoError(t, err)
	defer g.Close()
	fr, err := ipc.NewFileReader(g)
	require.NoError(t, err)
	defer fr.Close()
	assert.Equal(t, 3, fr.NumRecords())

	_, err = NewWriter(&bytes.Buffer{}, Arrow, Options{})
	assert.ErrorContains(t, err, "needs a seekable output")
}

func TestAppendRejectsMismatchedAttributes(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, ArrowStream, Options{})
	require.NoError(t, err)
	e := events(5)[0]
	e.AttrValues = e.AttrValues[:1]
	require.ErrorContains(t, w.Append(&e), "event ev-00000: attributes: 2 keys but 1 values")
	require.Error(t, w.Close())
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		got, err := ParseFormat(string(f))
		require.NoError(t, err)
		assert.Equal(t, f, got)
	}
	_, err := ParseFormat("csv")
	assert.EqualError(t, err, `format "csv": want parquet, arrow or arrow-stream`)
}

func TestResultSummary(t *testing.T) {
	since := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	res := Result{Path: "x-r1.parquet", Rows: 42, Window: query.Resolved{Window: query.Window{Since: since, Until: since.Add(time.Hour)}}}
	assert.Equal(t, "wrote 42 events of x (2026-11-21T10:00:00Z to 2026-11-21T11:00:00Z) to x-r1.parquet", res.Summary("x"))
}

// Validate is what analyze export checks before dialling ClickHouse, and
// Run checks first: usage errors naming the flag.
func TestRequestValidate(t *testing.T) {
	require.NoError(t, Request{Format: Parquet, BatchRows: 1}.Validate())
	for _, tt := range []struct {
		req  Request
		want string
	}{
		{Request{Format: "csv", BatchRows: 1}, `--format: format "csv": want parquet, arrow or arrow-stream`},
		{Request{Format: Arrow, BatchRows: 0}, "--batch-rows 0: must be positive"},
		{Request{Format: ArrowStream, BatchRows: -5}, "--batch-rows -5: must be positive"},
	} {
		err := tt.req.Validate()
		var ue *query.UsageError
		require.ErrorAs(t, err, &ue, "%+v", tt.req)
		require.EqualError(t, err, tt.want)
		_, err = Run(context.Background(), nil, tt.req, nil)
		require.EqualError(t, err, tt.want, "Run validates before it reads")
	}
}
