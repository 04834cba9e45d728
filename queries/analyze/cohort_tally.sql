-- Raw rows (duplicates included) per 10-second bucket, cohort, service and
-- operation from the cohort_tally view: cheap to read, and it changes
-- whenever a bucket gets a row. Store.Buckets compares it with the row
-- count cohort_settled.sql recorded to know which cached distinct counts
-- still hold. Same filters as cohort_buckets.sql.
SELECT
    experiment_id,
    toUInt32(bucket) AS bucket_s,
    toString(cohort) AS cohort,
    service,
    name,
    sum(rows) AS rows
FROM {{.DB}}.cohort_tally
WHERE experiment_id IN (@experiment_id, @untagged_id)
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND synthetic = 0
GROUP BY experiment_id, bucket, cohort, service, name
ORDER BY experiment_id, bucket_s, cohort, service, name
