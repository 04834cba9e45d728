package sink

import (
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// columnError is a client-side refusal of a column's values: the data
// itself is wrong, so the rows are isolated like a server rejection.
type columnError struct {
	column string
	err    error
}

func (e *columnError) Error() string { return fmt.Sprintf("column %s: %v", e.column, e.err) }
func (e *columnError) Unwrap() error { return e.err }

// appendColumns appends rows [lo, hi) column by column, which is several
// times faster than row-wise Append with []any.
func appendColumns(ib driver.Batch, b *batch, lo, hi int) error {
	n := hi - lo
	ev := b.events[lo:hi]
	str := func(f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	arr := func(f func(i int) []string) [][]string {
		out := make([][]string, n)
		for i := range out {
			if v := f(i); v != nil {
				out[i] = v
			} else {
				out[i] = []string{}
			}
		}
		return out
	}
	eventTime, ingestTime := make([]time.Time, n), make([]time.Time, n)
	eventNs, ingestNs, durations := make([]uint64, n), make([]uint64, n), make([]uint64, n)
	synthetic, isError := make([]uint8, n), make([]uint8, n)
	httpStatus := make([]uint16, n)
	for i := range ev {
		e := &ev[i]
		eventTime[i], eventNs[i] = time.Unix(0, e.TimeNs).UTC(), uint64(e.TimeNs)
		ingestTime[i], ingestNs[i] = time.Unix(0, e.IngestNs).UTC(), uint64(e.IngestNs)
		durations[i], httpStatus[i] = e.DurationNs, e.HTTPStatus
		if e.Synthetic {
			synthetic[i] = 1
		}
		if e.IsError {
			isError[i] = 1
		}
	}
	cols := []any{
		str(func(i int) string { return ev[i].ID }),
		eventTime, eventNs, ingestTime, ingestNs,
		str(func(i int) string { return ev[i].Kind.String() }),
		str(func(i int) string { return ev[i].Service }),
		str(func(i int) string { return ev[i].Name }),
		str(func(i int) string { return ev[i].TraceID }),
		str(func(i int) string { return ev[i].SpanID }),
		str(func(i int) string { return ev[i].ParentSpanID }),
		str(func(i int) string { return ev[i].Flow }),
		str(func(i int) string { return ev[i].FlowKey }),
		str(func(i int) string { return ev[i].Stage }),
		str(func(i int) string { return ev[i].ExperimentID }),
		str(func(i int) string { return ev[i].Cohort.String() }),
		synthetic,
		str(func(i int) string { return ev[i].Status.String() }),
		isError,
		str(func(i int) string { return ev[i].ErrorType }),
		httpStatus, durations,
		str(func(i int) string { return ev[i].SubjectID }),
		str(func(i int) string { return ev[i].Severity }),
		arr(func(i int) []string { return ev[i].AttrKeys }),
		arr(func(i int) []string { return ev[i].AttrValues }),
		arr(func(i int) []string { return ev[i].ResKeys }),
		arr(func(i int) []string { return ev[i].ResValues }),
		str(func(i int) string { return ev[i].Body }),
		append([]int32(nil), b.parts[lo:hi]...),
		append([]int64(nil), b.offsets[lo:hi]...),
	}
	for i, c := range cols {
		if err := ib.Column(i).Append(c); err != nil {
			return &columnError{column: fmt.Sprint(i), err: err}
		}
	}
	return nil
}

// recentIDs remembers about the last capacity event ids in two
// generations, to count raw duplicates without unbounded memory.
type recentIDs struct {
	mu        sync.Mutex
	capacity  int
	cur, prev map[string]struct{}
}

func newRecentIDs(capacity int) *recentIDs {
	return &recentIDs{capacity: capacity / 2, cur: map[string]struct{}{}, prev: map[string]struct{}{}}
}

func (r *recentIDs) seenOrAdd(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cur[id]; ok {
		return true
	}
	if _, ok := r.prev[id]; ok {
		return true
	}
	if len(r.cur) >= r.capacity {
		r.prev, r.cur = r.cur, make(map[string]struct{}, r.capacity)
	}
	r.cur[id] = struct{}{}
	return false
}
