-- Per-event durations of both cohorts for one SLI, on a deterministic
-- sample of 100 ms time slices: a slice is kept when the hash of its number
-- is below the cohort's share (@control_ppm / @experiment_ppm of a million),
-- so every refresh sees the same events, duplicates (same event time) are
-- kept or dropped together, and ClickHouse reads the wide columns only for
-- granules holding a kept slice (the PREWHERE reads just the time columns).
-- Both cohorts of a slice are kept together, so under "no difference" the
-- cohort labels stay exchangeable and the rank test stays valid. Filters as
-- in sli_counts.sql; deduplicated by event_id.
SELECT
    toString(cohort) AS cohort,
    event_id,
    duration_ns
FROM {{.DB}}.events
PREWHERE experiment_id = @experiment_id
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
  AND intHash64(intDiv(event_time_ns, 100000000)) % 1000000 < greatest(@control_ppm, @experiment_ppm)
WHERE cohort != 'none'
  AND intHash64(intDiv(event_time_ns, 100000000)) % 1000000 < if(cohort = 'experiment', @experiment_ppm, @control_ppm)
  AND synthetic = 0
  AND kind IN ('span', 'event')
  AND (@service = '' OR service = @service)
  AND (@operation = '' OR name = @operation)
  AND hasAll(arrayConcat(arrayMap((k, v) -> concat(k, '\x1F', v), attr_keys, attr_values),
                         arrayMap((k, v) -> concat(k, '\x1F', v), res_keys, res_values)), @attr_pairs)
ORDER BY cohort, event_id
LIMIT 1 BY event_id
