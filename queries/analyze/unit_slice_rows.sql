-- The rows of unit_seen (schema/0017_unit_seen.up.sql) that unit_count.sql
-- counts the units of, for an SLI over every event of both cohorts (log
-- records included, no service or operation filter): both cohorts' rows of
-- the units whose hash is at most @unit_max over the buckets of
-- [since_s, until_s). unit_count.sql returns the same total beside its
-- count; a kept count (unit_settled.sql) still holds while the total is
-- unchanged.
--
-- Read through the server's uncompressed cache: a repeat comparison of a
-- settled window reads the same granules of the slice every time (about
-- 160k rows at `make bench-compare`'s 10M events, the kept compare's
-- longest read), and a part never changes once written, so a cached block
-- is the bytes the file holds and the sum is the same. 18.16, the bench
-- database, 15 interleaved runs each (load 2-6): 9.6 -> 5.7 ms of CPU, 11
-- -> 7 ms. Reads above merge_tree_max_rows_to_use_cache (1M rows by
-- default) bypass the cache, and a server without one (size 0) reads as
-- before.
SELECT toUInt64(sum(rows)) AS rows
FROM {{.DB}}.unit_seen
WHERE experiment_id = @experiment_id
  AND unit <= @unit_max
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND synthetic = 0
SETTINGS use_uncompressed_cache = 1
