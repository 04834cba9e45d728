-- The rows of unit_seen (schema/0017_unit_seen.up.sql) that unit_count.sql
-- counts the units of, for an SLI over every event of both cohorts (log
-- records included, no service or operation filter): both cohorts' rows of
-- the units whose hash is at most @unit_max over the buckets of
-- [since_s, until_s). unit_count.sql returns the same total beside its
-- count; a kept count (unit_settled.sql) still holds while the total is
-- unchanged.
SELECT toUInt64(sum(rows)) AS rows
FROM {{.DB}}.unit_seen
WHERE experiment_id = @experiment_id
  AND unit <= @unit_max
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND synthetic = 0
