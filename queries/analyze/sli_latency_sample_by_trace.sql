-- sli_latency_sample_attrs.sql for the untagged spans whose trace was
-- decided for the experiment (trace_cohorts_v2, decided within @slack_s
-- seconds of the window): the same deterministic two-stage sample, with the
-- cohort of the trace. LatencySample appends these durations to the
-- directly tagged ones.
SELECT
    trace_cohort AS cohort,
    duration_ns,
    event_time_ns
FROM
(
    SELECT event_id, event_time_ns, trace_id, duration_ns
    FROM {{.DB}}.events
    PREWHERE experiment_id = ''
      AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
      AND intHash64(toUInt32(event_time)) % 1000000 < @second_ppm
    WHERE trace_id != ''
      AND synthetic = 0
      AND kind = 'span'
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
WHERE intHash64(event_time_ns) % 1000000 < if(trace_cohort = 'experiment', @experiment_ppm, @control_ppm)
ORDER BY cohort, event_id
LIMIT 1 BY event_id
