-- Per-event durations of both cohorts, deduplicated by event_id, on a
-- deterministic hash sample (@sample_per_million of a million) so every
-- refresh sees the same events. Feeds the Mann-Whitney test and quantile
-- intervals.
SELECT
    toString(cohort) AS cohort,
    event_id,
    duration_ns / 1000000. AS duration_ms
FROM {{.DB}}.events
WHERE experiment_id = @experiment_id
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
  AND cohort != 'none'
  AND synthetic = 0
  AND kind IN ('span', 'event')
  AND (@service = '' OR service = @service)
  AND (@operation = '' OR name = @operation)
  AND sipHash64(event_id) % 1000000 < @sample_per_million
ORDER BY cohort, event_id
LIMIT 1 BY event_id
