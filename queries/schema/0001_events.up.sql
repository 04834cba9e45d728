-- One wide table for spans, logs, JSON events and alert notifications.
-- event_id is deterministic at the ingest edge, so a retried request or a
-- replayed Kafka record produces the same row; ReplacingMergeTree collapses
-- such rows during merges and every analysis query counts distinct
-- event_id, so duplicates never reach an answer before the merge either.
-- Portable to ClickHouse 18.16: DateTime plus integer nanoseconds instead of
-- DateTime64, parallel key/value arrays instead of Map, no TTL.
CREATE TABLE IF NOT EXISTS {{.Local "events"}}{{.OnCluster}}
(
    event_id        String,
    event_time      DateTime,
    event_time_ns   UInt64,
    ingest_time     DateTime,
    ingest_time_ns  UInt64,
    kind            Enum8('span' = 1, 'log' = 2, 'event' = 3, 'alert' = 4),
    service         String,
    name            String,
    trace_id        String,
    span_id         String,
    parent_span_id  String,
    flow            String,
    flow_key        String,
    stage           String,
    experiment_id   String,
    cohort          Enum8('none' = 0, 'control' = 1, 'experiment' = 2),
    synthetic       UInt8,
    status          Enum8('unset' = 0, 'ok' = 1, 'error' = 2),
    is_error        UInt8,
    error_type      String,
    http_status     UInt16,
    duration_ns     UInt64,
    subject_id      String,
    severity        String,
    attr_keys       Array(String),
    attr_values     Array(String),
    res_keys        Array(String),
    res_values      Array(String),
    body            String,
    kafka_partition Int32,
    kafka_offset    Int64
)
ENGINE = {{engine "events" "ReplacingMergeTree" ""}}
PARTITION BY toYYYYMMDD(event_time)
ORDER BY (experiment_id, event_time, event_id)
{{.Distributed "events" "cityHash64(event_id)"}}
