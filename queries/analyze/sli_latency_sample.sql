-- Per-event durations of both cohorts for one SLI, on a deterministic
-- two-stage sample: whole seconds are kept when the hash of the second is
-- below @second_ppm (of a million), and within them events are kept when
-- the hash of their nanosecond time is below the cohort's share
-- (@control_ppm / @experiment_ppm). The PREWHERE reads only event_time,
-- which is sorted within an experiment and compresses to almost nothing;
-- the wide columns are read only for granules of kept seconds. Every
-- refresh sees the same events, duplicates (same time) are kept or dropped
-- together, and both cohorts of a second are sampled alike, so under "no
-- difference" the cohort labels stay exchangeable and the rank test stays
-- valid. Filters as in sli_counts.sql but without attributes (see
-- sli_latency_sample_attrs.sql); deduplicated by event_id.
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
PREWHERE event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
  AND intHash64(toUInt32(event_time)) % 1000000 < @second_ppm
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
