-- Ground truth from the raw table: distinct events and errors per cohort.
-- Slower than cohort_summary.sql; used to check the view and by reports.
SELECT
    toString(cohort) AS cohort,
    uniqExact(event_id) AS events,
    uniqExactIf(event_id, is_error = 1) AS errors
FROM {{.DB}}.events
WHERE experiment_id = @experiment_id
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
  AND synthetic = 0
  AND kind IN ('span', 'event', 'log')
GROUP BY cohort
ORDER BY cohort
