-- Distinct events and distinct errors per cohort of one experiment over
-- [since_s, until_s), from the cohort_stats view (window rounded to its
-- 10-second buckets). Synthetic traffic never counts. service/operation
-- narrow it to one SLI's filter ('' = any).
SELECT
    toString(cohort) AS cohort,
    sum(n) AS events,
    sum(e) AS errors
FROM
(
    SELECT cohort, bucket, uniqExactMerge(events) AS n, uniqExactIfMerge(errors) AS e
    FROM {{.DB}}.cohort_stats
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND synthetic = 0
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
    GROUP BY cohort, bucket
)
GROUP BY cohort
ORDER BY cohort
