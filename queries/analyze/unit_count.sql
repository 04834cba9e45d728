-- Distinct randomization units per cohort of a ratio SLI the views serve
-- (service and operation filters; unit = the subject, an event without one
-- a unit of its own) over [since_s, until_s), from unit_seen
-- (schema/0017_unit_seen.up.sql), counting only the units whose hash is at
-- most @unit_max: 18446744073709551615 counts every unit; a smaller bound
-- counts, exactly, the units of a fixed slice of the hash space (see
-- analysis.UnitSampleShift). unit_count_by_trace.sql adds the units of the
-- spans resolved by their trace. @logs = 0 leaves log records out.
-- A filter its parameter already decides (every kind, any service or
-- operation) is left out (queries.Data.Bound): 18.16 would read the
-- kind, service and name columns for every row to evaluate it.
-- rows: the unit_seen rows counted (unit_slice_rows.sql reads their total
-- again to tell whether a kept count still holds, unit_settled.sql).
SELECT toString(c) AS cohort, units, rows
FROM
(
    SELECT cohort AS c, toUInt64(uniqExact(unit)) AS units, toUInt64(sum(rows)) AS rows
    FROM {{.DB}}.unit_seen
    WHERE experiment_id = @experiment_id
      AND unit <= @unit_max
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND synthetic = 0
      AND {{if eq (.Bound "logs") "1"}}@logs = 1{{else}}(@logs = 1 OR kind != 'log'){{end}}
      AND {{if eq (.Bound "service") "''"}}@service = ''{{else}}(@service = '' OR service = @service){{end}}
      AND {{if eq (.Bound "operation") "''"}}@operation = ''{{else}}(@operation = '' OR name = @operation){{end}}
    GROUP BY c
)
ORDER BY cohort
