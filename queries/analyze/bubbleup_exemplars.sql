-- A few trace ids of the experiment cohort's bad events that carry one
-- attribute value (a row of bubbleup.sql), earliest first, to open in a
-- tracing tool.
SELECT trace_id
FROM {{.DB}}.events
ARRAY JOIN
    arrayConcat(attr_keys, ['service', 'name', 'error_type', 'http_status']) AS k,
    arrayConcat(attr_values, [service, name, error_type, if(http_status = 0, '', toString(http_status))]) AS v
WHERE experiment_id = @experiment_id
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
  AND kind IN ('span', 'event', 'log') AND synthetic = 0
  AND cohort = 'experiment' AND is_error = 1
  AND trace_id != ''
  AND k = @key AND v = @value
GROUP BY trace_id
ORDER BY min(event_time_ns), trace_id
LIMIT @limit
