-- The newest kept unit-level tallies of a window (schema/0025_unit_settled.up.sql)
-- in each hash slice of the units it was kept for (2^-unit_shift), newest
-- first, with the row totals they were computed from; the reader reads
-- them beside the window rows that decide the slice, and uses the one of
-- that slice only while both totals still hold (query.Reader.settledUnits).
SELECT unit_shift, window_rows, slice_rows, control_units, experiment_units, cohorts, grps, events, errors
FROM {{.DB}}.unit_settled
WHERE experiment_id = @experiment_id
  AND since = toDateTime(@since_s) AND until = toDateTime(@until_s)
ORDER BY computed_ns DESC
LIMIT 1 BY unit_shift
