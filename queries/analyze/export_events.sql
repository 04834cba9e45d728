-- The deduplicated events of one experiment in [since_ns, until_ns), every
-- kind (spans, logs, JSON events, alerts), for `analyze export`. FINAL
-- collapses duplicate rows: a duplicate has the same event_id and time, so
-- the same sorting key and partition, and FINAL keeps exactly one of them
-- even before the background merge. With @untagged = 1 the untagged
-- traffic of the same window (experiment_id '') comes along, for blast
-- radius views. Rows stream in time order.
SELECT
    event_id,
    event_time_ns,
    ingest_time_ns,
    toString(kind) AS kind,
    service,
    name,
    trace_id,
    span_id,
    parent_span_id,
    flow,
    flow_key,
    stage,
    experiment_id,
    toString(cohort) AS cohort,
    synthetic,
    toString(status) AS status,
    is_error,
    error_type,
    http_status,
    duration_ns,
    subject_id,
    severity,
    attr_keys,
    attr_values,
    res_keys,
    res_values,
    body
FROM {{.DB}}.events FINAL
WHERE (experiment_id = @experiment_id OR (@untagged = 1 AND experiment_id = ''))
  AND event_time >= toDateTime(intDiv(@since_ns, 1000000000))
  AND event_time <= toDateTime(intDiv(@until_ns, 1000000000))
  AND event_time_ns >= @since_ns AND event_time_ns < @until_ns
ORDER BY event_time_ns, event_id
