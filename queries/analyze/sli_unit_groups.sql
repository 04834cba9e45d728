-- Per cohort and unit group (schema/0016_unit_groups.up.sql: 256 groups,
-- cityHash64(unit) % 256) the distinct events and errors of a ratio SLI
-- the views serve (service and operation filters, good = not an error),
-- unit = the subject. The reader sums the groups' squares for the
-- cluster-robust variance (query.SLIUnitGroups). Two parts:
--   1. unit_groups rows of the buckets without duplicates (all but @dirty:
--      the caller compares cohort_tally's raw rows with cohort_stats'
--      distinct events per bucket);
--   2. the @dirty buckets counted on the raw table (distinct event ids),
--      within [@dirty_since_s, @dirty_until_s).
-- sli_unit_groups_by_trace.sql has the spans resolved by their trace.
-- @logs = 0 leaves log records out (good-event SLIs count spans and events).
SELECT cohort, grp, sum(rows) AS events, sum(error_rows) AS errors
FROM
(
    SELECT toString(cohort) AS cohort, grp, rows, error_rows
    FROM {{.DB}}.unit_groups
    WHERE experiment_id = @experiment_id
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND NOT has(@dirty, toUInt32(bucket))
      AND synthetic = 0
      AND (@logs = 1 OR kind != 'log')
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
    UNION ALL
    SELECT cohort, toUInt16(unit % 256) AS grp, toUInt64(uniqExact(event_id)) AS rows, toUInt64(uniqExactIf(event_id, is_error = 1)) AS error_rows
    FROM
    (
        SELECT
            toString(cohort) AS cohort, event_id, is_error,
            if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) AS unit
        FROM {{.DB}}.events
        PREWHERE experiment_id = @experiment_id
          AND event_time >= toDateTime(@dirty_since_s) AND event_time < toDateTime(@dirty_until_s)
        WHERE has(@dirty, intDiv(toUInt32(event_time), 10) * 10)
          AND cohort != 'none'
          AND synthetic = 0
          AND kind IN ('span', 'event', 'log')
          AND (@logs = 1 OR kind != 'log')
          AND (@service = '' OR service = @service)
          AND (@operation = '' OR name = @operation)
    )
    GROUP BY cohort, grp
)
GROUP BY cohort, grp
ORDER BY cohort, grp
