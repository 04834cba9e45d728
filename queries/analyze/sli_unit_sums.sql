-- sli_unit_rows.sql summed over the whole range (its @per_bucket = 0
-- form), for a first live look over a long window: each unit's events and
-- errors of both cohorts from unit_tally, grouped by the unit alone and
-- packed, so ClickHouse keeps one UInt64 key and two sums per unit instead
-- of a (cohort, unit) key and two sums per cohort and unit (at
-- `make bench-compare`'s 250k live events, about 230k rows into 50k
-- units: 85 -> 48 ms of CPU on 18.16 alone, which spends most of the
-- read on the two-column key; the 20 first looks of the cold start
-- 2.27 -> 1.2-1.4 s on a loaded machine):
--   packed        = sum(rows * 2^32 + error_rows)
--                 = events * 2^32 + errors of both cohorts,
--   packed_cohort = the same with the experiment cohort's rows counted
--                   twice (shifted left by one)
--                 = (control + 2 experiment events) * 2^32
--                   + control + 2 experiment errors,
-- from which the reader takes each cohort's events and errors exactly
-- (query.Reader.SLIUnitSums) while every sum stays below 2^32: the reader
-- uses this statement only when the window holds fewer than 2^30 raw rows
-- (a bound from the bucket rows it has read), and sli_unit_rows.sql
-- otherwise. A unit seen in both cohorts (or unit 0, the events without a
-- subject, each a unit of its own) comes back as both cohorts' counts.
-- Filters as in sli_unit_rows.sql; the @dirty buckets are left out (the
-- reader adds sli_unit_rows_dirty.sql and sli_unit_rows_by_trace.sql).
-- Through the server's uncompressed cache, as sli_unit_rows.sql (see
-- there): watchers of one experiment starting together read the same
-- granules of unit_tally for their first looks, and one decompresses them
-- for all: 20 such reads at once (bench-live-01's hour, 18.16, 3 rounds
-- each, load 2-9) 758-807 -> 500-504 ms of CPU; 20 reads of 20 different
-- experiments, where nothing is shared, 761-813 vs 721-852 ms.
-- crosscheck: unordered
SELECT unit, toUInt64(sum(x)) AS packed, toUInt64(sum(bitShiftLeft(x, c = 'experiment'))) AS packed_cohort
FROM
(
    SELECT unit, cohort AS c, bitShiftLeft(toUInt64(rows), 32) + error_rows AS x
    FROM {{.DB}}.unit_tally
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND {{if eq (.Bound "dirty") "emptyArrayUInt32()"}}empty(@dirty){{else}}NOT has(@dirty, toUInt32(bucket)){{end}}
      AND cohort != 'none'
      AND synthetic = 0
      AND {{if eq (.Bound "kinds") "['span', 'event', 'log']"}}length(@kinds) = 3{{else}}has(@kinds, toString(kind)){{end}}
      AND {{if eq (.Bound "service") "''"}}@service = ''{{else}}(@service = '' OR service = @service){{end}}
      AND {{if eq (.Bound "operation") "''"}}@operation = ''{{else}}(@operation = '' OR name = @operation){{end}}
)
GROUP BY unit
SETTINGS max_threads = 1, use_uncompressed_cache = 1
