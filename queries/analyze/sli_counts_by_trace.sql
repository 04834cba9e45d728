-- sli_counts.sql for the untagged spans and log records whose trace was
-- decided for the experiment (trace_cohorts_v2, decided within @slack_s
-- seconds of the window): their cohort is their trace's. Same filters and
-- columns; SLICounts adds these counts to the directly tagged ones.
SELECT
    trace_cohort AS cohort,
    toUInt64(uniqExact(event_id)) AS events,
    toUInt64(uniqExactIf(event_id, is_error = 1)) AS errors,
    toUInt64(uniqExactIf(event_id,
        (@good_not_error = 0 OR is_error = 0)
        AND (@good_max_ns = 0 OR duration_ns <= @good_max_ns)
        AND (@good_http = 0 OR has(@good_codes, toString(http_status))))) AS good
FROM
(
    SELECT event_id, trace_id, is_error, duration_ns, http_status
    FROM {{.DB}}.events
    PREWHERE experiment_id = ''
      AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
    WHERE trace_id != ''
      AND synthetic = 0
      AND has(@kinds, toString(kind))
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
      AND hasAll(arrayConcat(arrayMap((k, v) -> concat(k, '\x1F', v), attr_keys, attr_values),
                             arrayMap((k, v) -> concat(k, '\x1F', v), res_keys, res_values)), @attr_pairs)
) AS e
ALL INNER JOIN
(
    SELECT trace_id, argMin(decided_cohort, first_seen) AS trace_cohort
    FROM {{.DB}}.trace_cohorts_v2
    WHERE experiment_id = @experiment_id
      AND first_seen >= toDateTime(@since_s - @slack_s) AND first_seen < toDateTime(@until_s + @slack_s)
    GROUP BY trace_id
) AS t USING trace_id
GROUP BY cohort
ORDER BY cohort
