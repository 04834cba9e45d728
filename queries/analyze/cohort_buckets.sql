-- Distinct events and distinct errors per 10-second bucket, cohort, service
-- and operation over [since_s, until_s), from the cohort_counts view
-- (cohort_stats' counting states in small granules, 0021). Compare
-- and live sum the rows that match each SLI's filter, the cohort sizes for
-- the sample-ratio check and, with @untagged_id = '', the untagged traffic
-- for the blast radius (pass the experiment id again to leave it out).
-- Synthetic traffic never counts. Per-bucket rows let live cache buckets
-- that have settled and re-read only the recent ones; Store.Buckets reads
-- it only for buckets whose cached counts (cohort_settled.sql) are stale.
SELECT
    experiment_id,
    toUInt32(bucket) AS bucket_s,
    toString(cohort) AS cohort,
    service,
    name,
    uniqExactMerge(events) AS events,
    uniqExactIfMerge(errors) AS errors
FROM {{.DB}}.cohort_counts
WHERE experiment_id IN (@experiment_id, @untagged_id)
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND synthetic = 0
GROUP BY experiment_id, bucket, cohort, service, name
ORDER BY experiment_id, bucket_s, cohort, service, name
