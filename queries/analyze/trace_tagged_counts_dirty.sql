-- The @dirty buckets of trace_tagged_counts.sql counted on the raw table
-- within [@dirty_since_s, @dirty_until_s): distinct events per cohort that
-- ingest tagged by their trace. Same columns.
SELECT toString(cohort) AS cohort, toUInt64(uniqExact(event_id)) AS events
FROM {{.DB}}.events
PREWHERE experiment_id = @experiment_id
  AND event_time >= toDateTime(@dirty_since_s) AND event_time < toDateTime(@dirty_until_s)
WHERE has(@dirty, intDiv(toUInt32(event_time), 10) * 10)
  AND cohort != 'none' AND synthetic = 0 AND kind IN ('span', 'event', 'log')
  AND has(attr_keys, 'chaos.cohort.source')
GROUP BY cohort
ORDER BY cohort
