-- How many rows analyze/export_events.sql returns for the same parameters
-- (distinct events), so the export can show progress and the tests can
-- compare the file with ClickHouse.
SELECT uniqExact(event_id) AS events
FROM {{.DB}}.events
WHERE (experiment_id = @experiment_id OR (@untagged = 1 AND experiment_id = ''))
  AND event_time >= toDateTime(intDiv(@since_ns, 1000000000))
  AND event_time <= toDateTime(intDiv(@until_ns, 1000000000))
  AND event_time_ns >= @since_ns AND event_time_ns < @until_ns
