-- Per cohort and unit group (schema/0016_unit_groups.up.sql: 256 groups,
-- cityHash64(unit) % 256) the distinct events and errors of a ratio SLI
-- the views serve (service and operation filters, good = not an error),
-- unit = the subject, from the view rows of the buckets without
-- duplicates (all but @dirty: the caller compares cohort_tally's raw rows
-- with cohort_stats' distinct events per bucket): whole minutes in
-- [@min_since_s, @min_until_s) without a duplicate (all but
-- @dirty_minutes) from their minute rows (unit_groups_minute, 0019), every
-- other bucket of [@since_s, @until_s) from its 10-second rows
-- (unit_groups): the edges [@since_s, @min_since_s) and [@min_until_s,
-- @until_s), and the @dirty_minutes, which lie in [@dm_since_s,
-- @dm_until_s) (ranges the primary key can prune by). The reader adds sli_unit_groups_dirty.sql (the @dirty
-- buckets on the raw table) and sli_unit_groups_by_trace.sql (the spans
-- resolved by their trace), each read only when needed, and sums the
-- groups' squares for the cluster-robust variance (query.SLIUnitGroups).
-- @logs = 0 leaves log records out (good-event SLIs count spans and events).
-- A filter its parameter already decides (every kind, any service or
-- operation) is left out (queries.Data.Bound): 18.16 would read the
-- kind, service and name columns for every row to evaluate it.
SELECT toString(c) AS cohort, grp, toUInt64(sum(ev)) AS events, toUInt64(sum(er)) AS errors
FROM
(
    SELECT cohort AS c, grp, sum(rows) AS ev, sum(error_rows) AS er
    FROM {{.DB}}.unit_groups_minute
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@min_since_s) AND bucket < toDateTime(@min_until_s)
      AND NOT has(@dirty_minutes, toUInt32(bucket))
      AND synthetic = 0
      AND {{if eq (.Bound "logs") "1"}}@logs = 1{{else}}(@logs = 1 OR kind != 'log'){{end}}
      AND {{if eq (.Bound "service") "''"}}@service = ''{{else}}(@service = '' OR service = @service){{end}}
      AND {{if eq (.Bound "operation") "''"}}@operation = ''{{else}}(@operation = '' OR name = @operation){{end}}
    GROUP BY c, grp
    UNION ALL
    SELECT cohort AS c, grp, sum(rows) AS ev, sum(error_rows) AS er
    FROM {{.DB}}.unit_groups
    WHERE experiment_id = @experiment_id
      AND ((bucket >= toDateTime(@since_s) AND bucket < toDateTime(@min_since_s))
        OR (bucket >= toDateTime(@min_until_s) AND bucket < toDateTime(@until_s))
        OR (bucket >= toDateTime(@dm_since_s) AND bucket < toDateTime(@dm_until_s)
            AND has(@dirty_minutes, intDiv(toUInt32(bucket), 60) * 60)))
      AND NOT has(@dirty, toUInt32(bucket))
      AND synthetic = 0
      AND {{if eq (.Bound "logs") "1"}}@logs = 1{{else}}(@logs = 1 OR kind != 'log'){{end}}
      AND {{if eq (.Bound "service") "''"}}@service = ''{{else}}(@service = '' OR service = @service){{end}}
      AND {{if eq (.Bound "operation") "''"}}@operation = ''{{else}}(@operation = '' OR name = @operation){{end}}
    GROUP BY c, grp
)
GROUP BY c, grp
ORDER BY cohort, grp
