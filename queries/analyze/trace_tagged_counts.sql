-- Distinct events per cohort that ingest tagged by their trace (attribute
-- chaos.cohort.source) over [since_s, until_s) (10-second buckets, as the
-- cohort views), from trace_tagged_tally's rows of the buckets without
-- duplicates (all but @dirty: raw rows above distinct events in
-- cohort_tally / cohort_stats). The reader adds
-- trace_tagged_counts_dirty.sql (the @dirty buckets on the raw table) when
-- a bucket is dirty. Synthetic traffic left out.
SELECT toString(cohort) AS cohort, sum(rows) AS events
FROM {{.DB}}.trace_tagged_tally
WHERE experiment_id = @experiment_id
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND NOT has(@dirty, toUInt32(bucket))
  AND synthetic = 0
GROUP BY cohort
ORDER BY cohort
