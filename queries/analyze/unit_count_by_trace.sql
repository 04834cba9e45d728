-- unit_count.sql with the units of the untagged spans and log records
-- whose trace was decided for the experiment in ClickHouse (trace_cohorts_v2,
-- within @slack_s of the window): their own subject, else their trace's
-- (trace_subjects), else the event itself, in their trace's cohort. A unit
-- seen both ways counts once. Read instead of unit_count.sql when a trace
-- was decided (trace_decided.sql). rows is 0: a count with a decided trace
-- is never kept (unit_settled.sql).
SELECT cohort, toUInt64(uniqExact(unit)) AS units, toUInt64(0) AS rows
FROM
(
    SELECT toString(cohort) AS cohort, unit
    FROM {{.DB}}.unit_seen
    WHERE experiment_id = @experiment_id
      AND unit <= @unit_max
      AND bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
      AND synthetic = 0
      AND (@logs = 1 OR kind != 'log')
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
    UNION ALL
    SELECT cohort, unit
    FROM
    (
        SELECT
            trace_cohort AS cohort,
            if(subject_id != '', cityHash64(subject_id),
               if(trace_subject != '', cityHash64(trace_subject), cityHash64(concat('\x1Fevent\x1F', event_id)))) AS unit
        FROM
        (
            SELECT event_id, trace_id, subject_id, trace_cohort
            FROM
            (
                SELECT event_id, trace_id, subject_id
                FROM {{.DB}}.events
                PREWHERE experiment_id = ''
                  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
                WHERE trace_id != ''
                  AND synthetic = 0
                  AND kind IN ('span', 'event', 'log')
                  AND (@logs = 1 OR kind != 'log')
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
    )
    WHERE unit <= @unit_max
)
GROUP BY cohort
ORDER BY cohort
