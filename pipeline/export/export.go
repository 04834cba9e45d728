// Package export writes events to columnar files for notebooks: Parquet
// (through pqarrow) or Arrow IPC (file or stream). Rows are appended one at
// a time and flushed as a record batch (a Parquet row group) every
// Options.BatchRows rows, so memory stays bounded by one batch however
// large the run is.
//
// The schema (Schema) is stable and documented column by column; notebooks
// rely on it:
//
//	event_id        string     deterministic id, unique in a file
//	time            timestamp[ns, UTC]  when the event happened
//	ingest_time     timestamp[ns, UTC]  when ingest received it
//	kind            string     span, log, event or alert
//	service, name   string     emitting service; span/event/alert name
//	trace_id, span_id, parent_span_id  string (hex, may be empty)
//	flow, flow_key, stage       string  business-flow placement (may be empty)
//	experiment_id   string     "" for untagged traffic
//	cohort          string     experiment, control or none
//	synthetic       bool       test traffic
//	status          string     ok, error or unset
//	is_error        bool       failed request (HTTP 5xx or error status)
//	error_type      string
//	http_status     uint16     0 when not HTTP
//	duration_ms     float64    0 when unknown
//	subject_id      string     user or subject
//	severity        string
//	body            string
//	attributes      map<string, string>  record attributes
//	resource        map<string, string>  resource attributes
//
// The package does no I/O of its own beyond the writer it is given.
package export

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Format is an output file format.
type Format string

// Formats.
const (
	// Parquet is a Parquet file, one row group per batch, zstd-compressed.
	Parquet Format = "parquet"
	// Arrow is an Arrow IPC file (random access; needs a seekable output).
	Arrow Format = "arrow"
	// ArrowStream is the Arrow IPC streaming format (works on pipes).
	ArrowStream Format = "arrow-stream"
)

// Formats lists the formats in the order help texts show them.
var Formats = []Format{Parquet, Arrow, ArrowStream}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("format %q: want parquet, arrow or arrow-stream", s)
}

// Options tune a Writer.
type Options struct {
	// BatchRows is the number of rows per record batch / row group.
	// Default 65536.
	BatchRows int
	// Allocator for Arrow buffers; nil means the Go allocator.
	Allocator memory.Allocator
}

// DefaultBatchRows is Options.BatchRows when unset.
const DefaultBatchRows = 64 << 10

// Schema is the Arrow schema of every export.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "event_id", Type: arrow.BinaryTypes.String},
	{Name: "time", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
	{Name: "ingest_time", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "service", Type: arrow.BinaryTypes.String},
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "trace_id", Type: arrow.BinaryTypes.String},
	{Name: "span_id", Type: arrow.BinaryTypes.String},
	{Name: "parent_span_id", Type: arrow.BinaryTypes.String},
	{Name: "flow", Type: arrow.BinaryTypes.String},
	{Name: "flow_key", Type: arrow.BinaryTypes.String},
	{Name: "stage", Type: arrow.BinaryTypes.String},
	{Name: "experiment_id", Type: arrow.BinaryTypes.String},
	{Name: "cohort", Type: arrow.BinaryTypes.String},
	{Name: "synthetic", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "is_error", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "error_type", Type: arrow.BinaryTypes.String},
	{Name: "http_status", Type: arrow.PrimitiveTypes.Uint16},
	{Name: "duration_ms", Type: arrow.PrimitiveTypes.Float64},
	{Name: "subject_id", Type: arrow.BinaryTypes.String},
	{Name: "severity", Type: arrow.BinaryTypes.String},
	{Name: "body", Type: arrow.BinaryTypes.String},
	{Name: "attributes", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
	{Name: "resource", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
}, nil)

// recordWriter is what the three formats share.
type recordWriter interface {
	Write(arrow.Record) error
	Close() error
}

// Writer appends events and writes them in batches.
type Writer struct {
	out   recordWriter
	b     *array.RecordBuilder
	batch int
	n     int
	rows  int64
	err   error
}

// NewWriter starts a file of the given format on w. For Arrow, w must be an
// io.WriteSeeker (a file).
func NewWriter(w io.Writer, format Format, opts Options) (*Writer, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = DefaultBatchRows
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	var out recordWriter
	switch format {
	case Parquet:
		props := parquet.NewWriterProperties(
			parquet.WithCompression(compress.Codecs.Zstd),
			parquet.WithAllocator(mem),
			parquet.WithMaxRowGroupLength(int64(opts.BatchRows)),
			parquet.WithCreatedBy("steadystate analyze export"),
		)
		// Hide Close: the parquet writer would close a WriteCloser.
		fw, err := pqarrow.NewFileWriter(Schema, struct{ io.Writer }{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
		if err != nil {
			return nil, fmt.Errorf("start parquet file: %w", err)
		}
		out = fw
	case Arrow:
		ws, ok := w.(io.WriteSeeker)
		if !ok {
			return nil, errors.New("the arrow file format needs a seekable output (a file); use arrow-stream for pipes")
		}
		fw, err := ipc.NewFileWriter(ws, ipc.WithSchema(Schema), ipc.WithAllocator(mem), ipc.WithZstd())
		if err != nil {
			return nil, fmt.Errorf("start arrow file: %w", err)
		}
		out = fw
	case ArrowStream:
		out = ipc.NewWriter(w, ipc.WithSchema(Schema), ipc.WithAllocator(mem), ipc.WithZstd())
	default:
		return nil, fmt.Errorf("format %q: want parquet, arrow or arrow-stream", format)
	}
	return &Writer{out: out, b: array.NewRecordBuilder(mem, Schema), batch: opts.BatchRows}, nil
}

// Rows is the number of rows appended so far.
func (w *Writer) Rows() int64 { return w.rows }

// Append adds one event; every BatchRows events a batch is written.
func (w *Writer) Append(e *telemetry.Event) error {
	if w.err != nil {
		return w.err
	}
	// Check before appending anything: the builders' columns must stay
	// the same length.
	if len(e.AttrKeys) != len(e.AttrValues) {
		w.err = fmt.Errorf("event %s: attributes: %d keys but %d values", e.ID, len(e.AttrKeys), len(e.AttrValues))
		return w.err
	}
	if len(e.ResKeys) != len(e.ResValues) {
		w.err = fmt.Errorf("event %s: resource: %d keys but %d values", e.ID, len(e.ResKeys), len(e.ResValues))
		return w.err
	}
	f := w.b.Fields()
	str := func(i int, s string) { f[i].(*array.StringBuilder).Append(s) }
	str(0, e.ID)
	f[1].(*array.TimestampBuilder).Append(arrow.Timestamp(e.TimeNs))
	f[2].(*array.TimestampBuilder).Append(arrow.Timestamp(e.IngestNs))
	str(3, e.Kind.String())
	str(4, e.Service)
	str(5, e.Name)
	str(6, e.TraceID)
	str(7, e.SpanID)
	str(8, e.ParentSpanID)
	str(9, e.Flow)
	str(10, e.FlowKey)
	str(11, e.Stage)
	str(12, e.ExperimentID)
	str(13, e.Cohort.String())
	f[14].(*array.BooleanBuilder).Append(e.Synthetic)
	str(15, e.Status.String())
	f[16].(*array.BooleanBuilder).Append(e.IsError)
	str(17, e.ErrorType)
	f[18].(*array.Uint16Builder).Append(e.HTTPStatus)
	f[19].(*array.Float64Builder).Append(float64(e.DurationNs) / 1e6)
	str(20, e.SubjectID)
	str(21, e.Severity)
	str(22, e.Body)
	appendMap(f[23].(*array.MapBuilder), e.AttrKeys, e.AttrValues)
	appendMap(f[24].(*array.MapBuilder), e.ResKeys, e.ResValues)
	w.n++
	w.rows++
	if w.n >= w.batch {
		return w.Flush()
	}
	return nil
}

func appendMap(b *array.MapBuilder, keys, vals []string) {
	b.Append(true)
	kb := b.KeyBuilder().(*array.StringBuilder)
	vb := b.ItemBuilder().(*array.StringBuilder)
	for i, k := range keys {
		kb.Append(k)
		vb.Append(vals[i])
	}
}

// Flush writes the rows appended since the last batch, if any.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.n == 0 {
		return nil
	}
	rec := w.b.NewRecord()
	defer rec.Release()
	w.n = 0
	if err := w.out.Write(rec); err != nil {
		w.err = fmt.Errorf("write record batch: %w", err)
		return w.err
	}
	return nil
}

// Close flushes the last batch and finishes the file (footer). It does not
// close the underlying io.Writer.
func (w *Writer) Close() error {
	ferr := w.Flush()
	w.b.Release()
	cerr := w.out.Close()
	if cerr != nil {
		cerr = fmt.Errorf("finish file: %w", cerr)
	}
	return errors.Join(ferr, cerr)
}
