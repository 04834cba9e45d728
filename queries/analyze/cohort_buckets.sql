-- Distinct events and distinct errors per 10-second bucket, cohort, service
-- and operation over [since_s, until_s), from the cohort_counts view
-- (cohort_stats' counting states in small granules, 0021). Compare
-- and live sum the rows that match each SLI's filter, the cohort sizes for
-- the sample-ratio check and, with @untagged_id = '', the untagged traffic
-- for the blast radius (pass the experiment id again to leave it out).
-- Synthetic traffic never counts. Per-bucket rows let live cache buckets
-- that have settled and re-read only the recent ones; Store.Buckets reads
-- it only for buckets whose cached counts (cohort_settled.sql) are stale.
-- What the merge costs (session 13, 18.16, one live experiment's hour of the
-- 10M-event bench database, 1,444 keys of about 170 events, one row each,
-- 18 runs interleaved, load 8-11): 121 ms CPU [100..188], of which 77 ms
-- system time (page faults: 77 MB of deserialized hash sets), 44 ms user.
-- Counting each row's state alone (finalizeAggregation, merging only the
-- keys stored in several rows) cost 105 ms [89..346], 60 MB: the states
-- are deserialized either way, so that was not worth a second statement
-- (and 20 such first looks at once measured no better).
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
