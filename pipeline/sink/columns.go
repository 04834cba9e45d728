package sink

import (
	"fmt"
	"hash/maphash"
	"reflect"
	"slices"
	"sync"
	"unsafe"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// columnError is a client-side refusal of a column's values: the data
// itself is wrong, so the rows are isolated like a server rejection.
type columnError struct {
	column string
	err    error
}

func (e *columnError) Error() string { return fmt.Sprintf("column %s: %v", e.column, e.err) }
func (e *columnError) Unwrap() error { return e.err }

// columnAppender is the part of driver.Batch that appendColumns uses.
type columnAppender interface {
	Column(i int) driver.BatchColumn
	Columns() []column.Interface
}

// insertColumns are the insert's ClickHouse columns, kept from one insert
// to the next. The driver builds fresh, empty columns for every batch it
// prepares, so each insert grew a new buffer for every column from zero
// (about twice the block's size in allocations, copies and GC work); the
// kept columns are reset instead, keeping the capacity of the largest
// insert so far (MaxRows bounds it), and handed to the prepared batch.
// They serve one insert at a time.
type insertColumns struct {
	mu  sync.Mutex
	own []column.Interface
	// arrPos is where the driver appends the Array(String) columns'
	// placeholder values (see appendColumns), kept from insert to insert.
	arrPos [4][]chproto.Position
}

// fill appends rows [lo, hi) of b to the kept columns and makes them the
// columns of ib's block. Until ib is sent the kept columns are its.
func (ic *insertColumns) fill(ib columnAppender, b *batch, lo, hi int) error {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	cols := ib.Columns()
	if sameColumns(ic.own, cols) {
		for _, c := range ic.own {
			c.Reset()
		}
	} else {
		// The first insert, or the table changed: adopt the driver's.
		ic.own = cols
	}
	if err := appendColumns(ownColumns(ic.own), b, lo, hi, &ic.arrPos); err != nil {
		return err
	}
	for i, c := range cols {
		if c != ic.own[i] {
			// A struct copy: the batch's column now shares the kept
			// column's buffers (the driver has no way to adopt a column).
			reflect.ValueOf(c).Elem().Set(reflect.ValueOf(ic.own[i]).Elem())
		}
	}
	return nil
}

// sameColumns says whether the kept columns fit a prepared batch's: the
// same names, ClickHouse types and Go types, all pointers.
func sameColumns(own, cols []column.Interface) bool {
	if len(own) != len(cols) || len(own) == 0 {
		return false
	}
	for i, c := range cols {
		t := reflect.TypeOf(c)
		if t.Kind() != reflect.Pointer || t != reflect.TypeOf(own[i]) || c.Name() != own[i].Name() || c.Type() != own[i].Type() {
			return false
		}
	}
	return true
}

// ownColumns are columns appended to directly, as a batch's.
type ownColumns []column.Interface

func (o ownColumns) Columns() []column.Interface { return o }

func (o ownColumns) Column(i int) driver.BatchColumn { return ownColumn{o[i]} }

type ownColumn struct{ col column.Interface }

func (c ownColumn) Append(v any) error {
	_, err := c.col.Append(v)
	return err
}

func (c ownColumn) AppendRow(v any) error { return c.col.AppendRow(v) }

// rows are a batch's records decoded straight into the insert's column
// slices, one entry per accepted record: no event struct per row, and the
// insert hands sub-slices of them to the driver, which copies the values
// into its native block. String columns are held as ClickHouse's own
// String column is (ch-go's proto.ColStr): the bytes of every value in one
// buffer per column, and each row's position in it, which the insert hands
// to the driver's columns as they are (see setColStr). String arrays are
// kept flat, with each row's end.
// The slices keep their capacity from batch to batch, so a steady stream
// allocates nothing here once they have grown to the batch size.
type rows struct {
	strs [len(stringFields)][]chproto.Position
	// The bytes of strs and flat, one buffer per column, copied while the
	// record is still in the CPU cache: the column build then reads each
	// column's values in sequence instead of one cache line of a record
	// per value (records of a batch are several MB apart, see arena).
	bufs    [len(stringFields)][]byte
	flatBuf [4][]byte
	ns      [2][]uint64 // event_time_ns, ingest_time_ns
	dur     []uint64
	http    []uint16
	u8      [2][]uint8 // synthetic, is_error
	enums   [3][]int8  // kind, cohort, status
	flat    [4][]chproto.Position
	ends    [4][]int // per row, the end of its values in flat
	parts   []int32
	offsets []int64
	values  []string // the record value, to dead-letter a row ClickHouse refuses
}

// len is the number of rows.
func (r *rows) len() int { return len(r.offsets) }

// str is row i's value of String field f, valid until r is reset.
func (r *rows) str(f, i int) string { return view(r.bufs[f], r.strs[f][i]) }

// view is the string at p in buf, without a copy.
func view(buf []byte, p chproto.Position) string {
	if p.End == p.Start {
		return ""
	}
	return unsafe.String(&buf[p.Start], p.End-p.Start) //nolint:gosec // G103: the rows' bytes are not written again before reset
}

// add appends one decoded event.
func (r *rows) add(e *telemetry.Event, partition int32, offset int64, value string) {
	for f, sf := range stringFields {
		r.strs[f] = append(r.strs[f], arena(&r.bufs[f], sf.get(e)))
	}
	r.ns[0] = append(r.ns[0], uint64(e.TimeNs))
	r.ns[1] = append(r.ns[1], uint64(e.IngestNs))
	r.dur = append(r.dur, e.DurationNs)
	r.http = append(r.http, e.HTTPStatus)
	r.u8[0] = append(r.u8[0], b2u(e.Synthetic))
	r.u8[1] = append(r.u8[1], b2u(e.IsError))
	// The Go constants are the Enum8 values of the events table.
	r.enums[0] = append(r.enums[0], int8(e.Kind))
	r.enums[1] = append(r.enums[1], int8(e.Cohort))
	r.enums[2] = append(r.enums[2], int8(e.Status))
	for a, vals := range [4][]string{e.AttrKeys, e.AttrValues, e.ResKeys, e.ResValues} {
		for _, v := range vals {
			r.flat[a] = append(r.flat[a], arena(&r.flatBuf[a], v))
		}
		r.ends[a] = append(r.ends[a], len(r.flat[a]))
	}
	r.parts = append(r.parts, partition)
	r.offsets = append(r.offsets, offset)
	r.values = append(r.values, value)
}

// reset empties r, keeping capacity and dropping the references to the
// records' memory.
func (r *rows) reset() {
	// strs and flat are positions in r's own buffers (see arena), not
	// references to a record.
	for i := range r.strs {
		r.strs[i], r.bufs[i] = r.strs[i][:0], r.bufs[i][:0]
	}
	for i := range r.flat {
		r.flat[i], r.ends[i], r.flatBuf[i] = r.flat[i][:0], r.ends[i][:0], r.flatBuf[i][:0]
	}
	clear(r.values)
	r.ns[0], r.ns[1], r.dur, r.http = r.ns[0][:0], r.ns[1][:0], r.dur[:0], r.http[:0]
	r.u8[0], r.u8[1] = r.u8[0][:0], r.u8[1][:0]
	r.enums[0], r.enums[1], r.enums[2] = r.enums[0][:0], r.enums[1][:0], r.enums[2][:0]
	r.parts, r.offsets, r.values = r.parts[:0], r.offsets[:0], r.values[:0]
}

// rowsSize is how much a batch's rows hold: rows, bytes per string
// buffer, array values.
type rowsSize struct {
	n       int
	bufs    [len(stringFields)]int
	flat    [4]int
	flatBuf [4]int
}

func (r *rows) size() rowsSize {
	z := rowsSize{n: r.len()}
	for i := range r.bufs {
		z.bufs[i] = len(r.bufs[i])
	}
	for i := range r.flat {
		z.flat[i], z.flatBuf[i] = len(r.flat[i]), len(r.flatBuf[i])
	}
	return z
}

// max is the larger of z and o, field by field.
func (z rowsSize) max(o rowsSize) rowsSize {
	z.n = max(z.n, o.n)
	for i := range z.bufs {
		z.bufs[i] = max(z.bufs[i], o.bufs[i])
	}
	for i := range z.flat {
		z.flat[i], z.flatBuf[i] = max(z.flat[i], o.flat[i]), max(z.flatBuf[i], o.flatBuf[i])
	}
	return z
}

// scaled is z with every count multiplied by num/den: the size of a batch
// of more records like those measured in z.
func (z rowsSize) scaled(num, den int) rowsSize {
	f := func(v int) int { return int(int64(v) * int64(num) / int64(den)) }
	z.n = f(z.n)
	for i := range z.bufs {
		z.bufs[i] = f(z.bufs[i])
	}
	for i := range z.flat {
		z.flat[i], z.flatBuf[i] = f(z.flat[i]), f(z.flatBuf[i])
	}
	return z
}

// reserve gives empty rows the capacity of z at once: growing a batch's
// slices by appending copied each of them about twice over, a third of
// the sink's CPU while batches were new.
func (r *rows) reserve(z rowsSize) {
	n := z.n
	for i := range r.strs {
		r.strs[i] = slices.Grow(r.strs[i], n)
		r.bufs[i] = slices.Grow(r.bufs[i], z.bufs[i])
	}
	for i := range r.flat {
		r.flat[i] = slices.Grow(r.flat[i], z.flat[i])
		r.flatBuf[i] = slices.Grow(r.flatBuf[i], z.flatBuf[i])
		r.ends[i] = slices.Grow(r.ends[i], n)
	}
	for i := range r.ns {
		r.ns[i] = slices.Grow(r.ns[i], n)
		r.u8[i] = slices.Grow(r.u8[i], n)
	}
	for i := range r.enums {
		r.enums[i] = slices.Grow(r.enums[i], n)
	}
	r.dur, r.http = slices.Grow(r.dur, n), slices.Grow(r.http, n)
	r.parts, r.offsets, r.values = slices.Grow(r.parts, n), slices.Grow(r.offsets, n), slices.Grow(r.values, n)
}

// columns is an insert's scratch, kept by a batch: the DateTime columns in
// seconds.
type columns struct {
	secs [2][]int64
}

// stringFields are the String columns, by their index in telemetry.Columns.
var stringFields = [...]struct {
	col int
	get func(e *telemetry.Event) string
}{
	{0, func(e *telemetry.Event) string { return e.ID }},
	{6, func(e *telemetry.Event) string { return e.Service }},
	{7, func(e *telemetry.Event) string { return e.Name }},
	{8, func(e *telemetry.Event) string { return e.TraceID }},
	{9, func(e *telemetry.Event) string { return e.SpanID }},
	{10, func(e *telemetry.Event) string { return e.ParentSpanID }},
	{11, func(e *telemetry.Event) string { return e.Flow }},
	{12, func(e *telemetry.Event) string { return e.FlowKey }},
	{13, func(e *telemetry.Event) string { return e.Stage }},
	{14, func(e *telemetry.Event) string { return e.ExperimentID }},
	{19, func(e *telemetry.Event) string { return e.ErrorType }},
	{22, func(e *telemetry.Event) string { return e.SubjectID }},
	{23, func(e *telemetry.Event) string { return e.Severity }},
	{28, func(e *telemetry.Event) string { return e.Body }},
}

// floorSecs are the whole seconds of nanosecond times (DateTime's value).
func floorSecs(dst []int64, ns []uint64) []int64 {
	dst = dst[:0]
	for _, v := range ns {
		t := int64(v)
		s := t / 1e9
		if t%1e9 < 0 {
			s--
		}
		dst = append(dst, s)
	}
	return dst
}

// appendColumns appends rows [lo, hi) column by column, which is several
// times faster than row-wise Append with []any: every column but the
// arrays is one sub-slice of the batch's rows.
func appendColumns(ib columnAppender, b *batch, lo, hi int, arrPos *[4][]chproto.Position) error {
	r, c := &b.rows, &b.cols
	c.secs[0] = floorSecs(c.secs[0], r.ns[0][lo:hi])
	c.secs[1] = floorSecs(c.secs[1], r.ns[1][lo:hi])
	var cols [telemetry.NumColumns]any
	cols[1], cols[2], cols[3], cols[4], cols[5] = c.secs[0], r.ns[0][lo:hi], c.secs[1], r.ns[1][lo:hi], r.enums[0][lo:hi]
	cols[15], cols[16], cols[17], cols[18] = r.enums[1][lo:hi], r.u8[0][lo:hi], r.enums[2][lo:hi], r.u8[1][lo:hi]
	cols[20], cols[21] = r.http[lo:hi], r.dur[lo:hi]
	cols[29], cols[30] = r.parts[lo:hi], r.offsets[lo:hi]
	cs := ib.Columns()
	for f, sf := range stringFields {
		if !setColStr(cs[sf.col], r.bufs[f], r.strs[f][lo:hi]) {
			cols[sf.col] = r.strings(r.bufs[f], r.strs[f][lo:hi])
		}
	}
	for i, col := range cols {
		if col == nil {
			continue
		}
		if err := ib.Column(i).Append(col); err != nil {
			return &columnError{column: telemetry.Columns[i], err: err}
		}
	}
	// Array(String) columns: an array column is its offsets (per row,
	// the end of its values, counted from the block's first value) and
	// its values. Both are set in bulk where this build knows the
	// driver's Array (arrayOffsets): the offsets from the rows' ends, the
	// values as positions in the batch's bytes (setColStr). The driver's
	// own row-wise AppendRow (the fallback) boxes a row's strings and
	// appends its offset a row at a time: 5 % of the sink's CPU in path
	// B's profile (2026-12-01).
	arrCols := ib.Columns()
	for a, col := range [4]int{24, 25, 26, 27} {
		arr, ok := arrCols[col].(interface{ Base() column.Interface })
		if !ok {
			return &columnError{column: telemetry.Columns[col], err: fmt.Errorf("insert column is %T, want an Array", arrCols[col])}
		}
		values := arr.Base()
		start := 0
		if lo > 0 {
			start = r.ends[a][lo-1]
		}
		end := r.ends[a][hi-1]
		if offs := arrayOffsets(arrCols[col]); offs != nil && colStr(values) != nil {
			o := (*offs)[:0]
			for _, e := range r.ends[a][lo:hi] {
				o = append(o, uint64(e-start))
			}
			*offs = o
			setColStr(values, r.flatBuf[a], r.flat[a][start:end])
			continue
		}
		placeholders := setColStr(values, nil, arrPos[a][:0])
		bc := ib.Column(col)
		prev := start
		for _, e := range r.ends[a][lo:hi] {
			if err := bc.AppendRow(emptyRow(e - prev)); err != nil {
				return &columnError{column: telemetry.Columns[col], err: err}
			}
			prev = e
		}
		if placeholders {
			arrPos[a] = colStr(values).Pos // keep what the placeholders grew
			setColStr(values, r.flatBuf[a], r.flat[a][start:prev])
			continue
		}
		values.Reset()
		if _, err := values.Append(r.strings(r.flatBuf[a], r.flat[a][start:prev])); err != nil {
			return &columnError{column: telemetry.Columns[col], err: err}
		}
	}
	return nil
}

// arrayOffsets is the offsets of a one-level clickhouse-go Array column
// (its unexported offsets[0].values.col, a ch-go proto.ColUInt64), nil
// when c is not one or this driver version keeps them otherwise (then the
// rows are appended one by one). The offsets stay the column's until it
// is reset; appending to them is the driver's own Append.
func arrayOffsets(c column.Interface) *chproto.ColUInt64 {
	arr, ok := c.(*column.Array)
	if !ok {
		return nil
	}
	offs := reflect.ValueOf(arr).Elem().FieldByName("offsets")
	if !offs.IsValid() || offs.Kind() != reflect.Slice || offs.Len() != 1 {
		return nil
	}
	o := offs.Index(0)
	if o.Kind() != reflect.Pointer || o.IsNil() || o.Elem().Kind() != reflect.Struct {
		return nil
	}
	vals := o.Elem().FieldByName("values")
	if !vals.IsValid() || vals.Type() != reflect.TypeOf(column.UInt64{}) {
		return nil
	}
	col := vals.FieldByName("col")
	if !col.IsValid() || col.Type() != reflect.TypeOf(chproto.ColUInt64{}) {
		return nil
	}
	return (*chproto.ColUInt64)(unsafe.Pointer(col.UnsafeAddr())) //nolint:gosec // G103: the field's path and type are checked above
}

// colStrOffset is where clickhouse-go's String column keeps its ch-go
// proto.ColStr (an unexported field), or -1 when a driver version keeps it
// otherwise (then setColStr declines and the values are appended).
var colStrOffset = func() uintptr {
	f, ok := reflect.TypeOf(column.String{}).FieldByName("col")
	if !ok || f.Type != reflect.TypeOf(chproto.ColStr{}) {
		return ^uintptr(0)
	}
	return f.Offset
}()

// setColStr makes a String column's values the positions pos in buf, as
// they are: no copy into the driver's own buffer (which doubled a batch's
// string bytes and was a fifth of the column build), the block encoding
// reads them straight from the batch's rows. The column holds buf and pos
// until it is reset or set again: the batch is not reset before its
// insert is done (insertColumns serves one insert at a time). False: the
// column is not a clickhouse-go String as this build knows it.
func setColStr(c column.Interface, buf []byte, pos []chproto.Position) bool {
	cs := colStr(c)
	if cs == nil {
		return false
	}
	cs.Buf, cs.Pos = buf, pos
	return true
}

// colStr is the ColStr inside a clickhouse-go String column, nil when c is
// not one (or not as this build knows it).
func colStr(c column.Interface) *chproto.ColStr {
	s, ok := c.(*column.String)
	if !ok || colStrOffset == ^uintptr(0) {
		return nil
	}
	return (*chproto.ColStr)(unsafe.Add(unsafe.Pointer(s), colStrOffset)) //nolint:gosec // G103: the field's offset and type are checked in colStrOffset
}

// strings are the values at pos in buf (only when setColStr declines).
func (r *rows) strings(buf []byte, pos []chproto.Position) []string {
	out := make([]string, len(pos))
	for i, p := range pos {
		out[i] = view(buf, p)
	}
	return out
}

// emptyRows are rows of n empty strings, already boxed.
var emptyRows = func() []any {
	rows := make([]any, 64)
	for n := range rows {
		rows[n] = make([]string, n)
	}
	return rows
}()

func emptyRow(n int) any {
	if n < len(emptyRows) {
		return emptyRows[n]
	}
	return make([]string, n)
}

// arena appends s to *buf and returns its position there. Once the
// buffers have grown to the batch size they are reused.
func arena(buf *[]byte, s string) chproto.Position {
	start := len(*buf)
	*buf = append(*buf, s...)
	return chproto.Position{Start: start, End: len(*buf)}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// recentIDs counts raw duplicates: it remembers 64-bit hashes of the event
// ids of about the last 2*generation rows (two generations of fixed-size
// open-addressing tables, 16 bytes of memory per remembered id) and reports
// a row whose id hash it already holds. A duplicate older than that window
// is not counted, and two ids with the same 64-bit hash (about 1 in 10^7
// over a million rows) count once as a duplicate: the metric is a close
// lower bound on raw duplicate rows, which queries never see because they
// count distinct event ids.
type recentIDs struct {
	mu        sync.Mutex
	seed      maphash.Seed
	limit     int // ids per generation
	cur, prev []uint64
	n         int
	touched   uint64 // keeps countSeen's touches of cur from being optimized away
}

func newRecentIDs(generation int) *recentIDs {
	size := 1
	for size < 2*generation {
		size <<= 1
	}
	return &recentIDs{seed: maphash.MakeSeed(), limit: generation, cur: make([]uint64, size), prev: make([]uint64, size)}
}

// seenOrAdd reports whether id was seen within the window, and remembers it.
func (r *recentIDs) seenOrAdd(id string) bool {
	h := maphash.String(r.seed, id) | 1 // 0 marks an empty slot
	r.mu.Lock()
	defer r.mu.Unlock()
	if find(r.prev, h) {
		return true
	}
	dup, _ := r.addCur(h)
	return dup
}

// seenChunk is how many ids countSeen hashes and looks up at a time.
const seenChunk = 256

// countSeen is seenOrAdd of id(0) .. id(n-1) in turn, and returns how
// many were seen; the same answers, but a chunk of ids is hashed first and
// the older generation looked up for all of them before any is added, so
// the CPU waits for many of the tables' cache misses at once instead of
// one after the other (each lookup misses: the tables are 16 MiB). Per
// call in a row, seenOrAdd waited for each miss in turn, between records'
// decodes: about a tenth of the sink's CPU in path B's profile.
func (r *recentIDs) countSeen(n int, id func(i int) string) int {
	var (
		hs     [seenChunk]uint64
		inPrev [seenChunk]bool
	)
	seen := 0
	for lo := 0; lo < n; lo += seenChunk {
		m := min(seenChunk, n-lo)
		for k := range m {
			hs[k] = maphash.String(r.seed, id(lo+k)) | 1 // 0 marks an empty slot
		}
		seen += r.addChunk(hs[:m], inPrev[:m])
	}
	return seen
}

// addChunk is countSeen's lookups of one chunk of hashes.
func (r *recentIDs) addChunk(hs []uint64, inPrev []bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The older generation does not change until a swap: its lookups
	// are independent of each other. Touching the newer one's first slot
	// of each hash brings it in meanwhile.
	mask := uint64(len(r.cur) - 1)
	var touch uint64
	for k, h := range hs {
		inPrev[k] = find(r.prev, h)
		touch += r.cur[h&mask]
	}
	r.touched = touch
	seen, swaps := 0, 0
	for k, h := range hs {
		if swaps > 0 {
			// The generations moved on within the chunk: look again.
			inPrev[k] = find(r.prev, h)
		}
		if inPrev[k] {
			seen++
			continue
		}
		dup, swapped := r.addCur(h)
		if dup {
			seen++
		}
		if swapped {
			swaps++
		}
	}
	return seen
}

// addCur is seenOrAdd's part after the older generation: whether h is in
// the newer one, adding it (and starting a new generation when full,
// which swapped says).
func (r *recentIDs) addCur(h uint64) (dup, swapped bool) {
	mask := uint64(len(r.cur) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch r.cur[i] {
		case h:
			return true, false
		case 0:
			if r.n >= r.limit {
				swapped = true
				r.prev, r.cur = r.cur, r.prev
				clear(r.cur)
				r.n = 0
				i = h & mask
				for r.cur[i] != 0 {
					i = (i + 1) & mask
				}
			}
			r.cur[i] = h
			r.n++
			return false, swapped
		}
	}
}

func find(table []uint64, h uint64) bool {
	mask := uint64(len(table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch table[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}
