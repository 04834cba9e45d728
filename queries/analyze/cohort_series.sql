-- Per bucket of @step_s seconds (a multiple of 10) and cohort: distinct
-- events, distinct errors and latency quantiles (t-digest, approximate),
-- for charts and the live view.
-- crosscheck: approx p50_ms p99_ms
SELECT
    toDateTime(intDiv(toUInt32(bucket), @step_s) * @step_s) AS t,
    toString(cohort) AS cohort,
    sum(n) AS events,
    sum(e) AS errors,
    round(quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(q)[1], 3) AS p50_ms,
    round(quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(q)[4], 3) AS p99_ms
FROM
(
    SELECT bucket, cohort, uniqExactMerge(events) AS n, uniqExactIfMerge(errors) AS e,
           quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(latency_ms) AS q
    FROM {{.DB}}.cohort_stats
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND synthetic = 0
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
    GROUP BY bucket, cohort
)
GROUP BY t, cohort
ORDER BY t, cohort
