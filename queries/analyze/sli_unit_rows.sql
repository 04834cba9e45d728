-- The rows behind sli_unit_tally.sql, per 10-second bucket: each
-- cohort's and unit's events and errors, from its first part (the
-- unit_tally view for the buckets without duplicates, all but @dirty;
-- sli_unit_rows_dirty.sql counts the @dirty ones on the raw table and
-- sli_unit_rows_by_trace.sql has the spans resolved by their trace in
-- ClickHouse, each read only when needed). Live
-- (analysis.Monitor) reads the buckets that settled once, keeps their
-- per-unit counts, and re-reads only the open tail on each look; unit 0
-- holds events without a subject, each a unit of its own. With
-- @per_bucket = 0 the rows are summed over the whole range (bucket 0): a
-- first look over a long window reads one row per unit, not per unit and
-- bucket.
--
-- What the 20 first looks of a cold start pay for (about 190k rows each
-- at `make bench-compare`'s 10M events): a filter its parameter already
-- decides (every kind, any service or operation, no dirty bucket) is left
-- out (queries.Data.Bound; 18.16 would read kind, service and name for
-- every row to evaluate it), the rows are grouped by the Enum cohort and
-- sent as its number (telemetry.Cohort: a string per row cost the reader
-- more than the rest of the row), unordered (the reader keys them itself),
-- and one thread
-- aggregates (two threads merge two hash tables of every unit: 40% more
-- CPU for a read that runs beside 19 others). 185 -> 58 ms of CPU.
-- The read goes through the server's uncompressed cache: the watchers of
-- one experiment read the same granules (the buckets that settle, the
-- first look's hour in sli_unit_sums.sql), and a part never changes once
-- written, so a block one of them decompressed is the bytes every other
-- would read, and the answer is the same. Reads above
-- merge_tree_max_rows_to_use_cache (1M rows by default) bypass it, and a
-- server without one (size 0) reads as before.
-- crosscheck: unordered
SELECT {{if eq (.Bound "per_bucket") "1"}}bucket_s{{else}}toUInt32(@per_bucket){{end}} AS bucket, toUInt8(c) AS cohort, unit, events, errors
FROM
(
    SELECT {{if eq (.Bound "per_bucket") "1"}}toUInt32(bucket) AS bucket_s, {{end}}cohort AS c, unit, sum(rows) AS events, sum(error_rows) AS errors
    FROM {{.DB}}.unit_tally
    WHERE experiment_id = @experiment_id{{if eq (.Bound "per_bucket") "1"}} AND @per_bucket = 1{{end}}
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND {{if eq (.Bound "dirty") "emptyArrayUInt32()"}}empty(@dirty){{else}}NOT has(@dirty, toUInt32(bucket)){{end}}
      AND cohort != 'none'
      AND synthetic = 0
      AND {{if eq (.Bound "kinds") "['span', 'event', 'log']"}}length(@kinds) = 3{{else}}has(@kinds, toString(kind)){{end}}
      AND {{if eq (.Bound "service") "''"}}@service = ''{{else}}(@service = '' OR service = @service){{end}}
      AND {{if eq (.Bound "operation") "''"}}@operation = ''{{else}}(@operation = '' OR name = @operation){{end}}
    GROUP BY {{if eq (.Bound "per_bucket") "1"}}bucket_s, {{end}}c, unit
)
SETTINGS max_threads = 1, use_uncompressed_cache = 1
