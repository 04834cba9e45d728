-- What is different (BubbleUp): every attribute value of the experiment
-- cohort's bad events (is_error) during [since_s, until_s), with how many
-- of those bad events carry it (bad, of bad_total) against how many of the
-- control cohort's events do (control, of control_total). Columns
-- service, name, error_type and http_status count as attributes too.
-- Attribute keys in @excluded are left out (the cohort and experiment
-- tags and their aliases, and the attributes a column was derived from, so
-- http.response.status_code=500 is not listed again beside http_status=500),
-- and so are keys matching the regular expression @noise ('' keeps all):
-- per-process and per-request values such as ports, ids and timestamps.
-- The most over-represented first, as candidates for a significance-aware
-- ranking by the caller: ordered by the difference of the shares
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
      AND NOT has(@excluded, k)
      AND (@noise = '' OR NOT match(k, @noise))
    GROUP BY key, value
)
WHERE bad > 0
ORDER BY toInt64(bad) * toInt64(control_total) - toInt64(control) * toInt64(bad_total) DESC, bad DESC, key, value
LIMIT @limit
