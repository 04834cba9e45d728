package telemetry

// The events table, said once. Schema is the column table: the sink
// inserts telemetry.Columns in this order, the export reads ExportColumns
// through the read side (pipeline/query), and a test applies the
// migrations to a real ClickHouse and compares its columns, names and
// types, with Schema (pipeline/store TestEventsTableMatchesSchema). A
// column added to the DDL without a line here, or the other way round,
// fails that test.

// Col is the position of a column in the events table.
type Col int

// The columns of the events table, in table order.
const (
	ColEventID Col = iota
	ColEventTime
	ColEventTimeNs
	ColIngestTime
	ColIngestTimeNs
	ColKind
	ColService
	ColName
	ColTraceID
	ColSpanID
	ColParentSpanID
	ColFlow
	ColFlowKey
	ColStage
	ColExperimentID
	ColCohort
	ColSynthetic
	ColStatus
	ColIsError
	ColErrorType
	ColHTTPStatus
	ColDurationNs
	ColSubjectID
	ColSeverity
	ColAttrKeys
	ColAttrValues
	ColResKeys
	ColResValues
	ColBody
	ColKafkaPartition
	ColKafkaOffset
	// NumColumns is the number of columns.
	NumColumns
)

// Column is one column of the events table: its name and its ClickHouse
// type as the DDL (queries/schema/0001_events.up.sql) declares it.
type Column struct {
	Name string
	Type string
}

// Schema is the events table, indexed by Col.
var Schema = [NumColumns]Column{
	ColEventID:        {"event_id", "String"},
	ColEventTime:      {"event_time", "DateTime"},
	ColEventTimeNs:    {"event_time_ns", "UInt64"},
	ColIngestTime:     {"ingest_time", "DateTime"},
	ColIngestTimeNs:   {"ingest_time_ns", "UInt64"},
	ColKind:           {"kind", "Enum8('span' = 1, 'log' = 2, 'event' = 3, 'alert' = 4)"},
	ColService:        {"service", "String"},
	ColName:           {"name", "String"},
	ColTraceID:        {"trace_id", "String"},
	ColSpanID:         {"span_id", "String"},
	ColParentSpanID:   {"parent_span_id", "String"},
	ColFlow:           {"flow", "String"},
	ColFlowKey:        {"flow_key", "String"},
	ColStage:          {"stage", "String"},
	ColExperimentID:   {"experiment_id", "String"},
	ColCohort:         {"cohort", "Enum8('none' = 0, 'control' = 1, 'experiment' = 2)"},
	ColSynthetic:      {"synthetic", "UInt8"},
	ColStatus:         {"status", "Enum8('unset' = 0, 'ok' = 1, 'error' = 2)"},
	ColIsError:        {"is_error", "UInt8"},
	ColErrorType:      {"error_type", "String"},
	ColHTTPStatus:     {"http_status", "UInt16"},
	ColDurationNs:     {"duration_ns", "UInt64"},
	ColSubjectID:      {"subject_id", "String"},
	ColSeverity:       {"severity", "String"},
	ColAttrKeys:       {"attr_keys", "Array(String)"},
	ColAttrValues:     {"attr_values", "Array(String)"},
	ColResKeys:        {"res_keys", "Array(String)"},
	ColResValues:      {"res_values", "Array(String)"},
	ColBody:           {"body", "String"},
	ColKafkaPartition: {"kafka_partition", "Int32"},
	ColKafkaOffset:    {"kafka_offset", "Int64"},
}

// String is the column's name.
func (c Col) String() string { return Schema[c].Name }

// Columns is the events table's insert column list, in the order of Values.
var Columns = func() []string {
	out := make([]string, NumColumns)
	for i, c := range Schema {
		out[i] = c.Name
	}
	return out
}()

// ExportColumns are the columns `analyze export` reads back into an Event
// (queries/analyze/export_events.sql selects them in this order): every
// column but the DateTime copies of the nanosecond times and the Kafka
// position, which are the sink's and not the event's.
var ExportColumns = func() []Col {
	var out []Col
	for c := ColEventID; c < NumColumns; c++ {
		switch c {
		case ColEventTime, ColIngestTime, ColKafkaPartition, ColKafkaOffset:
			continue
		}
		out = append(out, c)
	}
	return out
}()
