-- Game-day dashboard: per cohort and bucket of @step_s seconds (a multiple
-- of 10), page loads, error rate and p95 latency of one experiment, from
-- the cohort_stats view. Synthetic traffic never counts; @service narrows
-- it to one service ('' = any). Grafana binds the parameters to its time
-- range and variables (deploy/compose/grafana).
-- crosscheck: approx p95_ms
SELECT
    toDateTime(intDiv(toUInt32(bucket), @step_s) * @step_s) AS time,
    toString(cohort) AS cohort,
    sum(n) AS events,
    if(sum(n) = 0, 0, sum(e) / sum(n)) AS error_rate,
    round(quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(q)[3], 3) AS p95_ms
FROM
(
    SELECT bucket, cohort, uniqExactMerge(events) AS n, uniqExactIfMerge(errors) AS e,
           quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(latency_ms) AS q
    FROM {{.DB}}.cohort_stats
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND synthetic = 0
      AND (@service = '' OR service = @service)
    GROUP BY bucket, cohort
)
GROUP BY time, cohort
ORDER BY time, cohort
