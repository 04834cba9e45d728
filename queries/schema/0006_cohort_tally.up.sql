-- Exact distinct counts without reading every event id on every look.
--
-- cohort_tally counts raw rows (duplicates included) per key of
-- cohort_stats: a few bytes per bucket, summed in no time. Any insert into
-- a bucket, a late event or a duplicate, changes its row count.
--
-- cohort_settled caches the exact distinct counts of a bucket (from
-- cohort_stats' uniqExact states) with the row count they were computed at.
-- A reader uses the cache only while the bucket's row count is unchanged,
-- so the answer stays exact: analysis/Store.Buckets re-reads cohort_stats
-- only for buckets that changed (the last few seconds during a run) and
-- writes their counts back once they are older than two minutes.
-- The view name sorts after cohort_stats, so ClickHouse pushes an insert
-- to cohort_stats before cohort_tally, and a reader that reads the tally
-- before the states never caches a count older than its row count.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "cohort_tally"}}{{.OnCluster}}
ENGINE = {{engine "cohort_tally" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, synthetic)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    synthetic,
    count() AS rows
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log')
GROUP BY experiment_id, bucket, cohort, service, name, synthetic
{{.Distributed "cohort_tally" ""}};

CREATE TABLE IF NOT EXISTS {{.Local "cohort_settled"}}{{.OnCluster}}
(
    experiment_id String,
    bucket        DateTime,
    cohort        Enum8('none' = 0, 'control' = 1, 'experiment' = 2),
    service       String,
    name          String,
    events        UInt64,
    errors        UInt64,
    rows_at       UInt64,
    computed_ns   UInt64
)
ENGINE = {{engine "cohort_settled" "ReplacingMergeTree" "computed_ns"}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name)
{{.Distributed "cohort_settled" "cityHash64(experiment_id)"}}
