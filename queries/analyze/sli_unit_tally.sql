-- sli_unit_counts.sql for a ratio SLI the views can serve (service and
-- operation filters, good = not an error) with the subject as the unit,
-- read from the unit_tally view instead of grouping raw events by unit.
-- Same columns. Three parts are summed per cohort and unit before the sums
-- over units are taken:
--   1. unit_tally rows of the buckets without duplicates (all but @dirty:
--      the caller compares cohort_tally's raw rows with cohort_stats'
--      distinct events per bucket); unit 0 holds events without a subject,
--      each a unit of its own;
--   2. the @dirty buckets counted on the raw table (distinct event ids),
--      within [@dirty_since_s, @dirty_until_s);
--   3. the untagged spans and log records whose trace was decided for the
--      experiment in ClickHouse (trace_cohorts_v2, within @slack_s of the
--      window), in their trace's cohort, their unit their own subject or
--      else their trace's (trace_subjects), else the event itself.
SELECT
    cohort,
    toUInt64(sum(if(unit = 0, n, 1))) AS units,
    sum(n) AS events,
    sum(e) AS errors,
    sum(n - e) AS good,
    sum(if(unit = 0, n, n * n)) AS sum_n2,
    sum(if(unit = 0, e, e * e)) AS sum_e2,
    sum(if(unit = 0, e, e * n)) AS sum_en,
    sum(if(unit = 0, n - e, (n - e) * (n - e))) AS sum_g2,
    sum(if(unit = 0, n - e, (n - e) * n)) AS sum_gn
FROM
(
    SELECT cohort, unit, toFloat64(sum(rows)) AS n, toFloat64(sum(error_rows)) AS e
    FROM
    (
        SELECT toString(cohort) AS cohort, unit, rows, error_rows
        FROM {{.DB}}.unit_tally
        WHERE experiment_id = @experiment_id
          AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
          AND NOT has(@dirty, toUInt32(bucket))
          AND cohort != 'none'
          AND synthetic = 0
          AND has(@kinds, toString(kind))
          AND (@service = '' OR service = @service)
          AND (@operation = '' OR name = @operation)
        UNION ALL
        SELECT cohort, unit, toUInt64(uniqExact(event_id)) AS rows, toUInt64(uniqExactIf(event_id, is_error = 1)) AS error_rows
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
              AND has(@kinds, toString(kind))
              AND (@service = '' OR service = @service)
              AND (@operation = '' OR name = @operation)
        )
        GROUP BY cohort, unit
        UNION ALL
        SELECT
            trace_cohort AS cohort,
            if(subject_id != '', cityHash64(subject_id),
               if(trace_subject != '', cityHash64(trace_subject), cityHash64(concat('\x1Fevent\x1F', event_id)))) AS unit,
            toUInt64(uniqExact(event_id)) AS rows,
            toUInt64(uniqExactIf(event_id, is_error = 1)) AS error_rows
        FROM
        (
            SELECT event_id, trace_id, is_error, subject_id, trace_cohort
            FROM
            (
                SELECT event_id, trace_id, is_error, subject_id
                FROM {{.DB}}.events
                PREWHERE experiment_id = ''
                  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
                WHERE trace_id != ''
                  AND synthetic = 0
                  AND has(@kinds, toString(kind))
                  AND (@service = '' OR service = @service)
                  AND (@operation = '' OR name = @operation)
            ) AS e
            ALL INNER JOIN
            (
                SELECT trace_id, argMin(decided_cohort, first_seen) AS trace_cohort
                FROM {{.DB}}.trace_cohorts_v2
                WHERE experiment_id = @experiment_id
                  AND first_seen >= toDateTime(@since_s - @slack_s) AND first_seen < toDateTime(@until_s + @slack_s)
                GROUP BY trace_id
            ) AS t USING trace_id
        ) AS et
        ALL LEFT JOIN
        (
            SELECT trace_id, argMin(subject, first_seen) AS trace_subject
            FROM {{.DB}}.trace_subjects
            WHERE experiment_id = @experiment_id
              AND first_seen >= toDateTime(@since_s - @slack_s) AND first_seen < toDateTime(@until_s + @slack_s)
            GROUP BY trace_id
        ) AS s USING trace_id
        GROUP BY cohort, unit
    )
    GROUP BY cohort, unit
)
GROUP BY cohort
ORDER BY cohort
