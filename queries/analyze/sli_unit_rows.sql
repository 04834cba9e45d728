-- The rows behind sli_unit_tally.sql, per 10-second bucket: each
-- cohort's and unit's events and errors, from its first part (the
-- unit_tally view for the buckets without duplicates, all but @dirty;
-- sli_unit_rows_dirty.sql counts the @dirty ones on the raw table and
-- sli_unit_rows_by_trace.sql has the spans resolved by their trace in
-- ClickHouse, each read only when needed). Live
-- (analysis.Monitor) reads the buckets that settled once, keeps their
-- per-unit counts, and re-reads only the open tail on each look; unit 0
-- holds events without a subject, each a unit of its own. With
-- @per_bucket = 0 the rows are summed over the whole range (bucket 0): a
-- first look over a long window reads one row per unit, not per unit and
-- bucket.
SELECT if(@per_bucket = 1, bucket_s, toUInt32(0)) AS bucket, cohort, unit, sum(rows) AS events, sum(error_rows) AS errors
FROM
(
    SELECT toUInt32(bucket) AS bucket_s, toString(cohort) AS cohort, unit, rows, error_rows
    FROM {{.DB}}.unit_tally
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND NOT has(@dirty, toUInt32(bucket))
      AND cohort != 'none'
      AND synthetic = 0
      AND has(@kinds, toString(kind))
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
)
GROUP BY bucket, cohort, unit
ORDER BY bucket, cohort, unit
