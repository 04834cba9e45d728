-- ingestbench path E: the sink's inserts into one database's events table
-- (its inserts run with log_queries = 1 there; their text starts with
-- "INSERT INTO <@db>.events "): how many, their user + system CPU
-- (the events table's part and every view's, on the insert's threads),
-- their threads' wait for a CPU (OSCPUWaitMicroseconds: runnable, not
-- running), in microseconds, and their time on the server in milliseconds.
SELECT
    toUInt64(count()) AS inserts,
    toUInt64(sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]
        + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')])) AS cpu_us,
    toUInt64(sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'OSCPUWaitMicroseconds')])) AS cpu_wait_us,
    toUInt64(sum(query_duration_ms)) AS duration_ms
FROM system.query_log
WHERE type = 2 AND startsWith(query, concat('INSERT INTO ', @db, '.events '))
