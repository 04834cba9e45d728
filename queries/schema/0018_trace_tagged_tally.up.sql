-- Raw rows per experiment, 10-second bucket, cohort and kind of the events
-- ingest tagged by their trace (attribute chaos.cohort.source), so the
-- "how events got their cohort" counts of compare (query.Reader.Tagging,
-- analyze/trace_tagged_counts.sql) need not scan every event of the
-- window: the events tagged directly are the cohort's distinct events
-- (cohort_stats) minus these. Rows, not distinct events: a reader uses the
-- rows of a bucket only when it holds no duplicate (cohort_tally's raw rows
-- equal cohort_stats' distinct events) and counts the others on the raw
-- table, as for unit_tally. Only trace-tagged events land here, so the view
-- is empty where ingest never tags by trace.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "trace_tagged_tally"}}{{.OnCluster}}
ENGINE = {{engine "trace_tagged_tally" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, kind, synthetic)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    kind,
    synthetic,
    count() AS rows
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
  AND has(attr_keys, 'chaos.cohort.source')
GROUP BY experiment_id, bucket, cohort, kind, synthetic
{{.Distributed "trace_tagged_tally" ""}}
