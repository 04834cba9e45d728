-- Everyone but the experiment cohort (control and untagged traffic) during
-- the run against the same length of time before it, per service. A
-- degraded control is a finding of its own.
SELECT
    if(bucket < toDateTime(@run_start_s), 'before', 'during') AS period,
    service,
    sum(n) AS events,
    sum(e) AS errors
FROM
(
    SELECT bucket, service, uniqExactMerge(events) AS n, uniqExactIfMerge(errors) AS e
    FROM {{.DB}}.cohort_stats
    WHERE experiment_id IN (@experiment_id, '')
      AND cohort != 'experiment'
      AND synthetic = 0
      AND bucket >= toDateTime(@run_start_s - (@run_end_s - @run_start_s))
      AND bucket < toDateTime(@run_end_s)
    GROUP BY bucket, service
)
GROUP BY period, service
ORDER BY service, period
