-- Untagged spans and log records whose trace was decided for the experiment
-- (trace_cohorts_v2), per 10-second bucket, cohort, service and operation over
-- [since_s, until_s): the events ingest could not tag by their trace. Same
-- columns as cohort_buckets.sql; Store.Buckets adds these rows to the
-- experiment's and takes them out of the untagged traffic. A trace counts
-- when it was decided within @slack_s seconds of the window.
SELECT
    @experiment_id AS experiment_id,
    toUInt32(toDateTime(intDiv(toUInt32(event_time), 10) * 10)) AS bucket_s,
    trace_cohort AS cohort,
    service,
    name,
    toUInt64(uniqExact(event_id)) AS events,
    toUInt64(uniqExactIf(event_id, is_error = 1)) AS errors
FROM
(
    SELECT event_id, event_time, trace_id, service, name, is_error
    FROM {{.DB}}.events
    PREWHERE experiment_id = ''
      AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
    WHERE trace_id != '' AND synthetic = 0 AND kind IN ('span', 'log')
) AS e
ALL INNER JOIN
(
    SELECT trace_id, argMin(decided_cohort, first_seen) AS trace_cohort
    FROM {{.DB}}.trace_cohorts_v2
    WHERE experiment_id = @experiment_id
      AND first_seen >= toDateTime(@since_s - @slack_s) AND first_seen < toDateTime(@until_s + @slack_s)
    GROUP BY trace_id
) AS t USING trace_id
GROUP BY bucket_s, cohort, service, name
ORDER BY bucket_s, cohort, service, name
