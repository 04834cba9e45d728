-- sli_latency_sample.sql with the kept seconds listed by the reader
-- (@seconds: every second s of the window with intHash64(s) % 1000000 <
-- the second share, computed as query.Sampled does) instead of hashing
-- every event's second: the events table is ordered by experiment and
-- time, so ClickHouse reads only the granules holding a kept second (at
-- 10M events an hour, about one in fifteen) rather than the whole window's
-- times. Same rows; the reader uses it when the list is short
-- (query.maxListedSeconds) and falls back to sli_latency_sample.sql.
-- A filter its parameter already decides (any service or operation) is
-- left out (queries.Data.Bound): 18.16 would read service and name for
-- every row to evaluate it (a fifth of the read's CPU).
-- Through the server's uncompressed cache (as sli_unit_sums.sql): the
-- watchers of one experiment starting together read the same granules for
-- their first looks, and one decompresses them for all: 20 such reads at
-- once (bench-live-01's hour, 18.16, three rounds) 1117, 882, 869 -> 681,
-- 505, 567 ms of the server's CPU.
SELECT
    toString(cohort) AS cohort,
    duration_ns,
    event_time_ns
FROM {{.DB}}.events
PREWHERE event_time IN (SELECT arrayJoin(arrayMap(s -> toDateTime(s), @seconds)))
WHERE experiment_id = @experiment_id
  AND cohort != 'none'
  AND intHash64(event_time_ns) % 1000000 < if(cohort = 'experiment', @experiment_ppm, @control_ppm)
  AND synthetic = 0
  AND kind IN ('span', 'event')
  AND {{if eq (.Bound "service") "''"}}@service = ''{{else}}(@service = '' OR service = @service){{end}}
  AND {{if eq (.Bound "operation") "''"}}@operation = ''{{else}}(@operation = '' OR name = @operation){{end}}
ORDER BY cohort, event_id
LIMIT 1 BY event_id
SETTINGS use_uncompressed_cache = 1
