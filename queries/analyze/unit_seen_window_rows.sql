-- The raw rows unit_seen has taken in over the buckets of [since_s,
-- until_s) of both cohorts, synthetic traffic left out, from its mark
-- unit_seen_rows (schema/0026_unit_seen_rows.up.sql): read before a
-- distinct-unit count, a total equal to the unit groups' raw rows the
-- count goes with says unit_seen held all of them (query.Reader.keepUnits).
SELECT toUInt64(sum(rows)) AS rows
FROM {{.DB}}.unit_seen_rows
WHERE experiment_id = @experiment_id
  AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND synthetic = 0
