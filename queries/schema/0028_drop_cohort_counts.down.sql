-- Back to cohort_counts (0021), filled again from the events table.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "cohort_counts"}}{{.OnCluster}}
ENGINE = {{engine "cohort_counts" "AggregatingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, synthetic)
SETTINGS index_granularity = 256
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    synthetic,
    uniqExactState(event_id) AS events,
    uniqExactIfState(event_id, is_error = 1) AS errors
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log')
GROUP BY experiment_id, bucket, cohort, service, name, synthetic
{{.Distributed "cohort_counts" ""}}
