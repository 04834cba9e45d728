-- The newest kept unit-level tallies of a window (schema/0025_unit_settled.up.sql)
-- in the 2^-@unit_shift hash slice of the units, with the row totals they
-- were computed from; the reader uses them only while both still hold
-- (query.Reader.settledUnits).
SELECT window_rows, slice_rows, control_units, experiment_units, cohorts, grps, events, errors
FROM {{.DB}}.unit_settled
WHERE experiment_id = @experiment_id
  AND since = toDateTime(@since_s) AND until = toDateTime(@until_s)
  AND unit_shift = @unit_shift
ORDER BY computed_ns DESC
LIMIT 1
