-- The raw rows of both cohorts of an experiment over the buckets of
-- [since_s, until_s) (bucket start in the range), synthetic traffic left
-- out, from the cohort_tally view: compare's guess of the window's events,
-- which decides the hash slice of the distinct-unit count it reads beside
-- the bucket rows (query.Reader.SLIUnitGroupsAhead). Rows, not distinct
-- events: the two differ only where a bucket holds a duplicate, and the
-- reader checks the guess against the bucket rows.
SELECT toUInt64(sum(rows)) AS rows
FROM {{.DB}}.cohort_tally
WHERE experiment_id = @experiment_id
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND cohort != 'none'
  AND synthetic = 0
