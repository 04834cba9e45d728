-- The inserts that finished whose text starts with @insert (the sink's
-- "INSERT INTO <db>.events (...)"; logged with log_queries = 1), each with
-- the value it was sent for the setting @setting ('' when not sent) and
-- how many threads ran it: what TestInsertSettingsReachTheServer checks.
-- 18.16's query log keeps settings as parallel name and value arrays.
SELECT
    Settings.Values[indexOf(Settings.Names, @setting)] AS value,
    toUInt64(length(thread_numbers)) AS threads
FROM system.query_log
WHERE type = 2 AND startsWith(query, @insert)
