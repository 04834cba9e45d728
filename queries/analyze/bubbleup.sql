-- What is different (BubbleUp): every attribute value of the experiment
-- cohort's bad events (is_error) during [since_s, until_s), with how many
-- of those bad events carry it (bad, of bad_total) against how many of the
-- control cohort's events do (control, of control_total). Columns
-- service, name, error_type and http_status count as attributes too.
-- Most over-represented first: ordered by the difference of the shares
-- (bad/bad_total - control/control_total, compared in integers so both
-- engines order ties the same), then by bad events.
SELECT
    key,
    value,
    bad,
    (SELECT uniqExactIf(event_id, cohort = 'experiment' AND is_error = 1)
     FROM {{.DB}}.events
     WHERE experiment_id = @experiment_id
       AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
       AND kind IN ('span', 'event', 'log') AND synthetic = 0) AS bad_total,
    control,
    (SELECT uniqExactIf(event_id, cohort = 'control')
     FROM {{.DB}}.events
     WHERE experiment_id = @experiment_id
       AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
       AND kind IN ('span', 'event', 'log') AND synthetic = 0) AS control_total
FROM
(
    SELECT
        k AS key,
        v AS value,
        uniqExactIf(event_id, cohort = 'experiment' AND is_error = 1) AS bad,
        uniqExactIf(event_id, cohort = 'control') AS control
    FROM {{.DB}}.events
    ARRAY JOIN
        arrayConcat(attr_keys, ['service', 'name', 'error_type', 'http_status']) AS k,
        arrayConcat(attr_values, [service, name, error_type, if(http_status = 0, '', toString(http_status))]) AS v
    WHERE experiment_id = @experiment_id
      AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
      AND kind IN ('span', 'event', 'log') AND synthetic = 0
      AND cohort IN ('experiment', 'control')
      AND v != ''
    GROUP BY key, value
)
WHERE bad > 0
ORDER BY toInt64(bad) * toInt64(control_total) - toInt64(control) * toInt64(bad_total) DESC, bad DESC, key, value
LIMIT @limit
