-- Raw rows (duplicates included) per 10-second bucket, cohort, service and
-- operation from the cohort_tally view: cheap to read, and it changes
-- whenever a bucket gets a row. Store.Buckets compares it with the row
-- count cohort_settled.sql recorded to know which cached distinct counts
-- still hold. Same filters as cohort_buckets.sql.
-- decided, the same on every row: with @ask_decided = 1 trace_decided.sql's
-- answer for [@decided_since_s, @decided_until_s), so a live look asks it
-- here rather than in a statement of its own (18.16 charges about 2.5 ms of
-- CPU per statement however little it reads); with @ask_decided = 0 it is
-- 0 and nothing more is read (the subquery costs the tally about 2 ms).
SELECT
    experiment_id,
    toUInt32(bucket) AS bucket_s,
    toString(cohort) AS cohort,
    service,
    name,
    sum(rows) AS rows,
    {{- if eq (.Bound "ask_decided") "0"}}
    toUInt64(@ask_decided) AS decided
    {{- else}}
    toUInt64(@ask_decided * (
        SELECT count()
        FROM
        (
            SELECT trace_id
            FROM {{.DB}}.trace_cohorts_v2
            WHERE experiment_id = @experiment_id
              AND first_seen >= toDateTime(@decided_since_s - @slack_s) AND first_seen < toDateTime(@decided_until_s + @slack_s)
            LIMIT 1
        )
    )) AS decided
    {{- end}}
FROM {{.DB}}.cohort_tally
WHERE experiment_id IN (@experiment_id, @untagged_id)
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND synthetic = 0
GROUP BY experiment_id, bucket, cohort, service, name
ORDER BY experiment_id, bucket_s, cohort, service, name
