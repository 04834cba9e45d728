-- ingestbench -ch-cost: the inserts of one run (sent with log_queries = 1
-- and query ids starting with @prefix) and their user + system CPU in
-- microseconds: the events table's part and every view's SELECT, GROUP BY
-- and part, which ClickHouse runs on the insert's thread. 18.16's query
-- log keeps profile events as parallel name and value arrays.
SELECT
    toUInt64(count()) AS inserts,
    toUInt64(sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]
        + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')])) AS cpu_us
FROM system.query_log
WHERE type = 2 AND startsWith(query_id, @prefix)
