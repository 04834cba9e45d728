-- Cached exact distinct counts per bucket key and the row count they were
-- computed at (see schema/0006_cohort_tally.up.sql). The newest entry of a
-- key wins.
SELECT
    experiment_id,
    toUInt32(bucket) AS bucket_s,
    toString(cohort) AS cohort,
    service,
    name,
    argMax(events, computed_ns) AS events,
    argMax(errors, computed_ns) AS errors,
    argMax(rows_at, computed_ns) AS rows_at
FROM {{.DB}}.cohort_settled
WHERE experiment_id IN (@experiment_id, @untagged_id)
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
GROUP BY experiment_id, bucket, cohort, service, name
ORDER BY experiment_id, bucket_s, cohort, service, name
