-- The experiment and cohort of each trace, from the events that decided it
-- (tagged by their own attributes, resource, the cohort rules or a flag
-- evaluation; not those tagged by their trace at ingest). Analysis takes the
-- cohort of an untagged span or log record from its trace here when ingest
-- could not (it arrived before the deciding span, through another serve
-- instance, or after ingest's trace cache forgot the trace): see
-- trace_buckets.sql, sli_counts_by_trace.sql, sli_latency_sample_by_trace.sql.
-- One row per experiment and trace after merges; readers take the earliest
-- decision (argMin by first_seen), so an unmerged duplicate changes nothing.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "trace_cohorts"}}{{.OnCluster}}
ENGINE = {{engine "trace_cohorts" "ReplacingMergeTree" ""}}
PARTITION BY toYYYYMMDD(first_seen)
ORDER BY (experiment_id, trace_id)
AS SELECT
    experiment_id,
    trace_id,
    argMin(toString(cohort), event_time_ns) AS decided_cohort,
    min(event_time) AS first_seen
FROM {{.Local "events"}}
WHERE trace_id != '' AND experiment_id != '' AND cohort != 'none'
  AND NOT has(attr_keys, 'chaos.cohort.source')
GROUP BY experiment_id, trace_id
{{.Distributed "trace_cohorts" ""}}
