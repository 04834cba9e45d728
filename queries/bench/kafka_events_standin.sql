-- ingestbench path C: a stand-in for the Kafka table with its columns,
-- so every view on the Kafka table (kafka_mv and the copies of the events
-- table's views) can be created before it exists; dropped again
-- (bench/kafka_events_drop.sql) and replaced by the Kafka table, which
-- then starts streaming with all of them attached at once (18.16 keeps a
-- view's source by name).
CREATE TABLE {{.DB}}.kafka_events (
    event_id String,
    event_time DateTime,
    event_time_ns UInt64,
    ingest_time DateTime,
    ingest_time_ns UInt64,
    kind Enum8('span' = 1, 'log' = 2, 'event' = 3, 'alert' = 4),
    service String,
    name String,
    trace_id String,
    span_id String,
    parent_span_id String,
    flow String,
    flow_key String,
    stage String,
    experiment_id String,
    cohort Enum8('none' = 0, 'control' = 1, 'experiment' = 2),
    synthetic UInt8,
    status Enum8('unset' = 0, 'ok' = 1, 'error' = 2),
    is_error UInt8,
    error_type String,
    http_status UInt16,
    duration_ns UInt64,
    subject_id String,
    severity String,
    attr_keys Array(String),
    attr_values Array(String),
    res_keys Array(String),
    res_values Array(String),
    body String
) ENGINE = Null
