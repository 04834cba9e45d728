-- ingestbench path E: the latency probe's queries of one run (sent with
-- log_queries = 1 and query ids starting with @prefix), their count and
-- user + system CPU in microseconds: what the measurement itself costs
-- ClickHouse, on the cores of the pipeline it measures. Path D: the same
-- of clickhouse-client's insert, logged under its own id. 18.16's query log
-- keeps profile events as parallel name and value arrays.
SELECT
    toUInt64(count()) AS queries,
    toUInt64(sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]
        + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')])) AS cpu_us
FROM system.query_log
WHERE type = 2 AND startsWith(query_id, @prefix)
