-- The spans resolved by their trace for sli_unit_groups.sql: untagged
-- spans and log records whose trace was decided for the experiment in
-- ClickHouse (trace_cohorts_v2, within @slack_s of the window), in their
-- trace's cohort, their unit their own subject or else their trace's
-- (trace_subjects), else the event itself, per cohort and unit group. Same
-- columns; the reader adds them to sli_unit_groups.sql's and skips this
-- query when no trace was decided (trace_decided.sql).
SELECT
    trace_cohort AS cohort,
    toUInt16(if(subject_id != '', cityHash64(subject_id),
       if(trace_subject != '', cityHash64(trace_subject), cityHash64(concat('\x1Fevent\x1F', event_id)))) % 256) AS grp,
    toUInt64(uniqExact(event_id)) AS events,
    toUInt64(uniqExactIf(event_id, is_error = 1)) AS errors
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
GROUP BY cohort, grp
ORDER BY cohort, grp
