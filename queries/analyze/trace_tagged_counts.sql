-- Distinct events per cohort that ingest tagged by their trace (attribute
-- chaos.cohort.source) over [since_s, until_s) (10-second buckets, as the
-- cohort views): trace_tagged_tally's rows for the buckets without
-- duplicates, and the @dirty buckets (raw rows above distinct events in
-- cohort_tally / cohort_stats) counted on the raw table within
-- [@dirty_since_s, @dirty_until_s). Synthetic traffic left out.
SELECT cohort, sum(n) AS events
FROM
(
    SELECT toString(cohort) AS cohort, rows AS n
    FROM {{.DB}}.trace_tagged_tally
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND NOT has(@dirty, toUInt32(bucket))
      AND synthetic = 0
    UNION ALL
    SELECT toString(cohort) AS cohort, toUInt64(uniqExact(event_id)) AS n
    FROM {{.DB}}.events
    PREWHERE experiment_id = @experiment_id
      AND event_time >= toDateTime(@dirty_since_s) AND event_time < toDateTime(@dirty_until_s)
    WHERE has(@dirty, intDiv(toUInt32(event_time), 10) * 10)
      AND cohort != 'none' AND synthetic = 0 AND kind IN ('span', 'event', 'log')
      AND has(attr_keys, 'chaos.cohort.source')
    GROUP BY cohort
)
GROUP BY cohort
ORDER BY cohort
