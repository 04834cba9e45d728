-- Per experiment, cohort, service, operation and 10-second bucket: distinct
-- events, distinct errors and latency digests. Live comparison reads these
-- small states instead of scanning raw events. Distinct counts come from
-- uniqExact states keyed by event_id: an event's time is part of its
-- identity, so a duplicate always lands in the same bucket and the per-bucket
-- distinct counts add up exactly.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "cohort_stats"}}{{.OnCluster}}
ENGINE = {{engine "cohort_stats" "AggregatingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, synthetic)
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    synthetic,
    uniqExactState(event_id) AS events,
    uniqExactIfState(event_id, is_error = 1) AS errors,
    quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(duration_ns / 1000000.) AS latency_ms
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log')
GROUP BY experiment_id, bucket, cohort, service, name, synthetic
{{.Distributed "cohort_stats" ""}}
