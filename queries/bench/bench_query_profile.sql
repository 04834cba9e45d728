-- `make bench-compare -profile`: per statement of the timed rounds (queries
-- sent with log_queries = 1 since @since_s, told apart by the tables they
-- read), the runs, median duration, rows read and memory, from the
-- server's query log, and the median CPU of a run (user + system time of
-- the query's threads, ProfileEvents), the figure least moved by other load.
-- The statement is named by its first 110 characters after the leading
-- comment, whitespace collapsed.
SELECT
    substring(replaceRegexpAll(replaceRegexpAll(query, '--[^\n]*\n', ' '), '\\s+', ' '), 1, 110) AS stmt,
    toUInt64(count()) AS runs,
    toUInt64(quantileExact(0.5)(query_duration_ms)) AS p50_ms,
    toUInt64(quantileExact(0.5)(read_rows)) AS p50_rows,
    toUInt64(quantileExact(0.5)(memory_usage)) AS p50_mem,
    toFloat64(quantileExact(0.5)(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]
        + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')])) / 1e3 AS p50_cpu_ms
FROM system.query_log
WHERE type = 2 AND event_time >= toDateTime(@since_s) AND query LIKE concat('%', @database, '.%') AND query NOT LIKE '%system.query_log%'
GROUP BY stmt
ORDER BY runs * p50_ms DESC
LIMIT 40
