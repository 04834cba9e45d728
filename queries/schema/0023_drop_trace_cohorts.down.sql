-- Back to trace_cohorts (0010) with the rows of trace_cohorts_v2 (on a
-- cluster into the local table of the server this runs on: the old
-- Distributed table has no sharding key to insert through).
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
;

INSERT INTO {{.Local "trace_cohorts"}} (experiment_id, trace_id, decided_cohort, first_seen)
SELECT experiment_id, trace_id, decided_cohort, first_seen
FROM {{.DB}}.trace_cohorts_v2
