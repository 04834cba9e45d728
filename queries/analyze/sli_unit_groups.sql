-- Per cohort and unit group (schema/0016_unit_groups.up.sql: 256 groups,
-- cityHash64(unit) % 256) the distinct events and errors of a ratio SLI
-- the views serve (service and operation filters, good = not an error),
-- unit = the subject, from the unit_groups rows of the buckets without
-- duplicates (all but @dirty: the caller compares cohort_tally's raw rows
-- with cohort_stats' distinct events per bucket). The reader adds
-- sli_unit_groups_dirty.sql (the @dirty buckets on the raw table) and
-- sli_unit_groups_by_trace.sql (the spans resolved by their trace), each
-- read only when needed, and sums the groups' squares for the
-- cluster-robust variance (query.SLIUnitGroups).
-- @logs = 0 leaves log records out (good-event SLIs count spans and events).
SELECT toString(c) AS cohort, grp, events, errors
FROM
(
    SELECT cohort AS c, grp, sum(rows) AS events, sum(error_rows) AS errors
    FROM {{.DB}}.unit_groups
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND NOT has(@dirty, toUInt32(bucket))
      AND synthetic = 0
      AND (@logs = 1 OR kind != 'log')
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
    GROUP BY c, grp
)
ORDER BY cohort, grp
