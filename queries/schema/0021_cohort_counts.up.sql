-- The distinct events and errors of cohort_stats (0002) again, for the
-- reads that merge only those (analyze/cohort_buckets.sql: compare's and
-- live's bucket rows, the blast radius's untagged traffic), in a table
-- whose index granules hold 256 rows instead of 8192. A uniqExact state
-- holds every event's hash, and ClickHouse deserializes a whole granule
-- of states before it filters: reading one live experiment's hour (about
-- 1,400 rows) from cohort_stats took 0.5 to 1.3 s of CPU and up to 550 MB,
-- most of it for the neighbouring experiments' states in the same granules
-- (bench-main's hold about 7,000 events each), and 56 to 107 ms here
-- (10M-event bench database). Same rows, same states: the answer is the
-- same exact distinct count.
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
