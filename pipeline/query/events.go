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
			sc eventScan
			n  int64
		)
		dest := sc.dest()
		for rows.Next() {
			n++
			if err := rows.Scan(dest...); err != nil {
				yield(nil, fmt.Errorf("read event row %d: %w", n, err))
				return
			}
			if err := sc.event(); err != nil {
				yield(nil, err)
				return
			}
			if !yield(&sc.e, nil) {
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

// eventScan holds one row of analyze/export_events.sql, whose columns
// are telemetry.ExportColumns in order.
type eventScan struct {
	e                    telemetry.Event
	timeNs, ingestNs     uint64
	kind, cohort, status string
	synthetic, isError   uint8
}

// dest returns the scan destinations in telemetry.ExportColumns order.
func (sc *eventScan) dest() []any {
	e := &sc.e
	out := make([]any, len(telemetry.ExportColumns))
	for i, c := range telemetry.ExportColumns {
		switch c {
		case telemetry.ColEventID:
			out[i] = &e.ID
		case telemetry.ColEventTimeNs:
			out[i] = &sc.timeNs
		case telemetry.ColIngestTimeNs:
			out[i] = &sc.ingestNs
		case telemetry.ColKind:
			out[i] = &sc.kind
		case telemetry.ColService:
			out[i] = &e.Service
		case telemetry.ColName:
			out[i] = &e.Name
		case telemetry.ColTraceID:
			out[i] = &e.TraceID
		case telemetry.ColSpanID:
			out[i] = &e.SpanID
		case telemetry.ColParentSpanID:
			out[i] = &e.ParentSpanID
		case telemetry.ColFlow:
			out[i] = &e.Flow
		case telemetry.ColFlowKey:
			out[i] = &e.FlowKey
		case telemetry.ColStage:
			out[i] = &e.Stage
		case telemetry.ColExperimentID:
			out[i] = &e.ExperimentID
		case telemetry.ColCohort:
			out[i] = &sc.cohort
		case telemetry.ColSynthetic:
			out[i] = &sc.synthetic
		case telemetry.ColStatus:
			out[i] = &sc.status
		case telemetry.ColIsError:
			out[i] = &sc.isError
		case telemetry.ColErrorType:
			out[i] = &e.ErrorType
		case telemetry.ColHTTPStatus:
			out[i] = &e.HTTPStatus
		case telemetry.ColDurationNs:
			out[i] = &e.DurationNs
		case telemetry.ColSubjectID:
			out[i] = &e.SubjectID
		case telemetry.ColSeverity:
			out[i] = &e.Severity
		case telemetry.ColAttrKeys:
			out[i] = &e.AttrKeys
		case telemetry.ColAttrValues:
			out[i] = &e.AttrValues
		case telemetry.ColResKeys:
			out[i] = &e.ResKeys
		case telemetry.ColResValues:
			out[i] = &e.ResValues
		case telemetry.ColBody:
			out[i] = &e.Body
		default:
			panic(fmt.Sprintf("export: no destination for column %s", c))
		}
	}
	return out
}

// event completes the Event from the scanned row.
func (sc *eventScan) event() error {
	e := &sc.e
	e.TimeNs, e.IngestNs = int64(sc.timeNs), int64(sc.ingestNs)
	e.Kind, e.Status = exportKinds[sc.kind], exportStatuses[sc.status]
	var err error
	if e.Cohort, err = telemetry.ParseCohort(sc.cohort); err != nil {
		return fmt.Errorf("event %s: %w", e.ID, err)
	}
	e.Synthetic, e.IsError = sc.synthetic == 1, sc.isError == 1
	return nil
}

var (
	exportKinds    = map[string]telemetry.Kind{"span": telemetry.KindSpan, "log": telemetry.KindLog, "event": telemetry.KindEvent, "alert": telemetry.KindAlert}
	exportStatuses = map[string]telemetry.Status{"unset": telemetry.StatusUnset, "ok": telemetry.StatusOK, "error": telemetry.StatusError}
)
