-- `make bench-compare`: CPU microseconds (user + system) the server's query
-- threads used since it started, all queries of every client (the bench
-- takes the difference over an interval, with and without the watchers).
SELECT toUInt64(sum(value)) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')
