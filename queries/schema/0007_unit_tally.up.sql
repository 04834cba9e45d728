-- Per-unit tallies for the delta-method (cluster-robust) variance of ratio
-- SLIs over randomization units, so compare and live need not group the raw
-- events by unit (analyze/sli_unit_tally.sql).
--
-- One row per experiment, 10-second bucket (the buckets of cohort_stats),
-- cohort, service, operation, kind and unit: the raw rows and raw error
-- rows. The unit is cityHash64 of the event's subject (enduser.id /
-- user.id / feature_flag.context.id as stored in subject_id); 0 collects
-- the events without a subject, each of which is a unit of its own. Rows,
-- not distinct events: a bucket whose raw rows (cohort_tally) equal its
-- distinct events (cohort_stats) holds no duplicate, and only then does a
-- reader use these rows for it (it counts the other buckets on the raw
-- table), so the answer stays the exact distinct count.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "unit_tally"}}{{.OnCluster}}
ENGINE = {{engine "unit_tally" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, kind, synthetic, unit)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    kind,
    synthetic,
    if(subject_id = '', toUInt64(0), cityHash64(subject_id)) AS unit,
    count() AS rows,
    countIf(is_error = 1) AS error_rows
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log') AND experiment_id != ''
GROUP BY experiment_id, bucket, cohort, service, name, kind, synthetic, unit
{{.Distributed "unit_tally" ""}}
