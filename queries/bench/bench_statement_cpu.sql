-- `make bench-compare -profile`: per statement the live watchers sent
-- between @since_s and @until_s (they log their queries with
-- STEADYSTATE_CLICKHOUSE_LOG_QUERIES=1), from the server's query log: runs,
-- CPU seconds (user + system, the query's threads), rows and bytes read.
-- A statement is named by its first 60 characters after its leading
-- comment, whitespace collapsed, and the tables of @database it names.
SELECT
    concat(substring(replaceRegexpAll(replaceRegexpAll(query, '--[^\n]*\n', ' '), '\\s+', ' '), 1, 60), ' [',
        arrayStringConcat(arrayDistinct(extractAll(query, concat(@database, '\\.([a-z_]+)'))), ','), ']') AS stmt,
    toUInt64(count()) AS runs,
    toFloat64(sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]
        + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')])) / 1e6 AS cpu_s,
    toUInt64(sum(read_rows)) AS rows,
    toUInt64(sum(read_bytes)) AS bytes
FROM system.query_log
WHERE type = 2 AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
  AND query LIKE concat('%', @database, '.%') AND query NOT LIKE '%system.query_log%'
GROUP BY stmt
ORDER BY cpu_s DESC
LIMIT 25
