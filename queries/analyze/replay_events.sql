-- The control cohort's distinct, non-synthetic events of one window, for
-- the A/A replay (analyze replay): each with its randomization unit's value
-- (the subject when @unit_attr is '', else that attribute; '' when the
-- event has none), service, operation, error flag, duration and HTTP
-- status. One row per event_id (duplicates collapse).
SELECT
    event_id,
    toUInt32(any(event_time)) AS t_s,
    any(event_time_ns) AS t_ns,
    any(if(@unit_attr = '', subject_id,
           if(has(attr_keys, @unit_attr), attr_values[indexOf(attr_keys, @unit_attr)],
              if(has(res_keys, @unit_attr), res_values[indexOf(res_keys, @unit_attr)], '')))) AS unit,
    any(service) AS service,
    any(name) AS operation,
    any(is_error) AS is_error,
    any(duration_ns) AS duration_ns,
    any(http_status) AS http_status
FROM {{.DB}}.events
PREWHERE experiment_id = @experiment_id
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
WHERE cohort = 'control'
  AND synthetic = 0
  AND kind IN ('span', 'event', 'log')
GROUP BY event_id
ORDER BY t_ns, event_id
