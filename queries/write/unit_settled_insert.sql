-- Unit-level tallies of a settled window, kept with the row totals they
-- were computed from (schema/0025_unit_settled.up.sql).
INSERT INTO {{.DB}}.unit_settled (experiment_id, since, until, unit_shift, window_rows, slice_rows, control_units, experiment_units, cohorts, grps, events, errors, computed_ns)
