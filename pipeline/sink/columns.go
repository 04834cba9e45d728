package sink

import (
	"fmt"
	"hash/maphash"
	"reflect"
	"sync"
	"time"

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
	if err := appendColumns(ownColumns(ic.own), b, lo, hi); err != nil {
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

// columns are the insert's column slices, kept by a batch and reused from
// one insert to the next, so building an insert allocates nothing once the
// slices have grown to the batch size. The driver copies the values.
type columns struct {
	strs    [len(stringFields)][]string
	times   [2][]time.Time
	u64     [3][]uint64
	u8      [2][]uint8
	u16     []uint16
	enums   [3][]int8
	arrs    [4][][]string
	flat    [4][]string
	parts   []int32
	offsets []int64
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

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// appendColumns appends rows [lo, hi) column by column, which is several
// times faster than row-wise Append with []any.
func appendColumns(ib columnAppender, b *batch, lo, hi int) error {
	n := hi - lo
	ev := b.events[lo:hi]
	c := &b.cols
	for f := range stringFields {
		c.strs[f] = resize(c.strs[f], n)
	}
	for i := range c.times {
		c.times[i] = resize(c.times[i], n)
	}
	for i := range c.u64 {
		c.u64[i] = resize(c.u64[i], n)
	}
	for i := range c.u8 {
		c.u8[i] = resize(c.u8[i], n)
	}
	for i := range c.enums {
		c.enums[i] = resize(c.enums[i], n)
	}
	for i := range c.arrs {
		c.arrs[i] = resize(c.arrs[i], n)
	}
	c.u16 = resize(c.u16, n)
	for i := range ev {
		e := &ev[i]
		for f, sf := range stringFields {
			c.strs[f][i] = sf.get(e)
		}
		c.times[0][i], c.u64[0][i] = time.Unix(0, e.TimeNs), uint64(e.TimeNs)
		c.times[1][i], c.u64[1][i] = time.Unix(0, e.IngestNs), uint64(e.IngestNs)
		c.u64[2][i], c.u16[i] = e.DurationNs, e.HTTPStatus
		c.u8[0][i], c.u8[1][i] = b2u(e.Synthetic), b2u(e.IsError)
		// The Go constants are the Enum8 values of the events table.
		c.enums[0][i], c.enums[1][i], c.enums[2][i] = int8(e.Kind), int8(e.Cohort), int8(e.Status)
		c.arrs[0][i], c.arrs[1][i] = nonNil(e.AttrKeys), nonNil(e.AttrValues)
		c.arrs[2][i], c.arrs[3][i] = nonNil(e.ResKeys), nonNil(e.ResValues)
	}
	c.parts = append(c.parts[:0], b.parts[lo:hi]...)
	c.offsets = append(c.offsets[:0], b.offsets[lo:hi]...)

	cols := make([]any, len(telemetry.Columns))
	cols[1], cols[2], cols[3], cols[4], cols[5] = c.times[0], c.u64[0], c.times[1], c.u64[1], c.enums[0]
	cols[15], cols[16], cols[17], cols[18] = c.enums[1], c.u8[0], c.enums[2], c.u8[1]
	cols[20], cols[21] = c.u16, c.u64[2]
	cols[29], cols[30] = c.parts, c.offsets
	for f, sf := range stringFields {
		cols[sf.col] = c.strs[f]
	}
	for i, col := range cols {
		if col == nil {
			continue
		}
		if err := ib.Column(i).Append(col); err != nil {
			return &columnError{column: telemetry.Columns[i], err: err}
		}
	}
	// Array(String) columns: the driver's row-wise AppendRow boxes every
	// string of a row into an interface (an allocation each). Instead the
	// offsets come from rows of empty strings, boxed once for all
	// (emptyRow; boxing "" allocates nothing), and then the array's value
	// column is refilled in bulk with the real strings: the same number of
	// values, so the offsets stay right.
	arrCols := ib.Columns()
	for a, col := range [4]int{24, 25, 26, 27} {
		arr, ok := arrCols[col].(interface{ Base() column.Interface })
		if !ok {
			return &columnError{column: telemetry.Columns[col], err: fmt.Errorf("insert column is %T, want an Array", arrCols[col])}
		}
		bc := ib.Column(col)
		flat := c.flat[a][:0]
		for _, row := range c.arrs[a] {
			if err := bc.AppendRow(emptyRow(len(row))); err != nil {
				return &columnError{column: telemetry.Columns[col], err: err}
			}
			flat = append(flat, row...)
		}
		values := arr.Base()
		values.Reset()
		if _, err := values.Append(flat); err != nil {
			return &columnError{column: telemetry.Columns[col], err: err}
		}
		clear(flat)
		c.flat[a] = flat[:0]
	}
	return nil
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

// release drops the references to the batch's records, keeping capacity.
func (c *columns) release() {
	for i := range c.strs {
		clear(c.strs[i])
	}
	for i := range c.arrs {
		clear(c.arrs[i])
	}
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
	mask := uint64(len(r.cur) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch r.cur[i] {
		case h:
			return true
		case 0:
			if r.n >= r.limit {
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
			return false
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
