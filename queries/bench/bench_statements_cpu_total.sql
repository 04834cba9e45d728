-- `make bench-compare -cold-only -profile`: the CPU seconds (user +
-- system, the query's threads) of every statement the live watchers sent
-- between @since_s and @until_s (logged with
-- STEADYSTATE_CLICKHOUSE_LOG_QUERIES=1), from the server's query log: the
-- watchers' share of the server's CPU however busy others keep it (the
-- process's CPU net of its rate before counts everyone's work).
SELECT
    toFloat64(sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]
        + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')])) / 1e6 AS cpu_s
FROM system.query_log
WHERE type = 2 AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
  AND query LIKE concat('%', @database, '.%') AND query NOT LIKE '%system.query_log%'
