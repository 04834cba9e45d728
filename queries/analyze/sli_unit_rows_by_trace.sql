-- The third part of sli_unit_rows.sql: the untagged spans and log records
-- whose trace was decided for the experiment in ClickHouse (trace_cohorts_v2,
-- within @slack_s of the window), per 10-second bucket, in their trace's
-- cohort (sent as its number, telemetry.Cohort, as in
-- sli_unit_rows.sql), their unit their own subject or else their trace's
-- (trace_subjects), else the event itself. Same columns; the reader adds
-- these rows to sli_unit_rows.sql's and skips this query when no trace was
-- decided (trace_decided.sql).
SELECT if(@per_bucket = 1, bucket_s, toUInt32(0)) AS bucket, toUInt8(multiIf(tc = 'control', 1, tc = 'experiment', 2, 0)) AS cohort, unit, sum(rows) AS events, sum(error_rows) AS errors
FROM
(
    SELECT
        bucket_s,
        trace_cohort AS tc,
        if(subject_id != '', cityHash64(subject_id),
           if(trace_subject != '', cityHash64(trace_subject), cityHash64(concat('\x1Fevent\x1F', event_id)))) AS unit,
        toUInt64(uniqExact(event_id)) AS rows,
        toUInt64(uniqExactIf(event_id, is_error = 1)) AS error_rows
    FROM
    (
        SELECT bucket_s, event_id, trace_id, is_error, subject_id, trace_cohort
        FROM
        (
            SELECT toUInt32(intDiv(toUInt32(event_time), 10) * 10) AS bucket_s, event_id, trace_id, is_error, subject_id
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
    GROUP BY bucket_s, tc, unit
)
GROUP BY bucket, tc, unit
ORDER BY bucket, tc, unit
