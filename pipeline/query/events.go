package query

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// EventsRequest selects the deduplicated events of an experiment in
// [Since, Until), and untagged traffic of the same window with Untagged.
type EventsRequest struct {
	ExperimentID string
	Since, Until time.Time
	Untagged     bool
}

func (q EventsRequest) params() queries.Params {
	untagged := 0
	if q.Untagged {
		untagged = 1
	}
	return queries.Params{"experiment_id": q.ExperimentID, "since_ns": q.Since.UnixNano(), "until_ns": q.Until.UnixNano(), "untagged": untagged}
}

// CountEvents counts what Events would yield (analyze/export_count.sql).
func (r *Reader) CountEvents(ctx context.Context, q EventsRequest) (uint64, error) {
	sql, err := r.C.SQL("analyze/export_count.sql", q.params())
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := r.C.Conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events to export: %w", err)
	}
	return n, nil
}

// exportBlockRows is the ClickHouse block size of the export query.
const exportBlockRows = 8192

// Events streams the selected events (analyze/export_events.sql) in
// time order. The *Event yielded is reused: copy it to keep it. The
// iteration stops at the first error, which is yielded with a nil event;
// a cancelled ctx ends it with an error too, so a partial read is never
// taken for the whole.
func (r *Reader) Events(ctx context.Context, q EventsRequest) iter.Seq2[*telemetry.Event, error] {
	return func(yield func(*telemetry.Event, error) bool) {
		// Small blocks: the driver buffers a few decoded blocks ahead of
		// the reader, so the block size is what bounds memory, not the run.
		ctx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_block_size": exportBlockRows}))
		rows, err := r.C.Query(ctx, "analyze/export_events.sql", q.params())
		if err != nil {
			yield(nil, err)
			return
		}
		defer rows.Close()
		var (
			e                        telemetry.Event
			n                        int64
			timeNs, ingestNs         uint64
			kind, cohort, status     string
			synthetic, isError       uint8
			attrK, attrV, resK, resV []string
		)
		for rows.Next() {
			n++
			if err := rows.Scan(&e.ID, &timeNs, &ingestNs, &kind, &e.Service, &e.Name, &e.TraceID, &e.SpanID, &e.ParentSpanID,
				&e.Flow, &e.FlowKey, &e.Stage, &e.ExperimentID, &cohort, &synthetic, &status, &isError, &e.ErrorType,
				&e.HTTPStatus, &e.DurationNs, &e.SubjectID, &e.Severity, &attrK, &attrV, &resK, &resV, &e.Body); err != nil {
				yield(nil, fmt.Errorf("read event row %d: %w", n, err))
				return
			}
			e.TimeNs, e.IngestNs = int64(timeNs), int64(ingestNs)
			e.Kind, e.Status = exportKinds[kind], exportStatuses[status]
			if e.Cohort, err = telemetry.ParseCohort(cohort); err != nil {
				yield(nil, fmt.Errorf("event %s: %w", e.ID, err))
				return
			}
			e.Synthetic, e.IsError = synthetic == 1, isError == 1
			e.AttrKeys, e.AttrValues, e.ResKeys, e.ResValues = attrK, attrV, resK, resV
			if !yield(&e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("read events: %w", err))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(nil, fmt.Errorf("export interrupted: %w", err))
		}
	}
}

var (
	exportKinds    = map[string]telemetry.Kind{"span": telemetry.KindSpan, "log": telemetry.KindLog, "event": telemetry.KindEvent, "alert": telemetry.KindAlert}
	exportStatuses = map[string]telemetry.Status{"unset": telemetry.StatusUnset, "ok": telemetry.StatusOK, "error": telemetry.StatusError}
)
