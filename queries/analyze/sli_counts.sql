-- Distinct events, errors and good events per cohort for one SLI whose
-- filter the cohort_stats view cannot serve (attributes, or a good-event
-- definition with HTTP status or latency criteria). Reads the raw events
-- table. Filters: @service / @operation ('' = any), @attr_pairs (every
-- "key\x1Fvalue" must be an attribute or resource attribute of the event),
-- @kinds. Good: @good_not_error (1 = not an error), @good_max_ns (0 = no
-- bound), @good_http (1 = http_status must be in @good_codes).
SELECT
    toString(cohort) AS cohort,
    uniqExact(event_id) AS events,
    uniqExactIf(event_id, is_error = 1) AS errors,
    uniqExactIf(event_id,
        (@good_not_error = 0 OR is_error = 0)
        AND (@good_max_ns = 0 OR duration_ns <= @good_max_ns)
        AND (@good_http = 0 OR has(@good_codes, toString(http_status)))) AS good
FROM {{.DB}}.events
PREWHERE experiment_id = @experiment_id
  AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
WHERE cohort != 'none'
  AND synthetic = 0
  AND has(@kinds, toString(kind))
  AND (@service = '' OR service = @service)
  AND (@operation = '' OR name = @operation)
  AND hasAll(arrayConcat(arrayMap((k, v) -> concat(k, '\x1F', v), attr_keys, attr_values),
                         arrayMap((k, v) -> concat(k, '\x1F', v), res_keys, res_values)), @attr_pairs)
GROUP BY cohort
ORDER BY cohort
