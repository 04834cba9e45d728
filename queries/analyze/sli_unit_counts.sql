-- Per-cohort sums over randomization units for one ratio SLI: the number
-- of units, events, errors and good events, and the sums over units of
-- n², errors², errors·n, good² and good·n (n = the unit's distinct
-- events), which is all the delta-method (cluster-robust) variance of a
-- ratio over units needs (stats.UnitCounts). The unit is the events'
-- subject (enduser.id / user.id / feature_flag.context.id as stored in
-- subject_id) when @unit_attr is '', else the value of that attribute
-- (event attributes first, then resource attributes). An event without a
-- unit value counts as a unit of its own, so nothing is dropped. Reads the
-- raw events table; same filters as sli_counts.sql.
SELECT
    cohort,
    count() AS units,
    sum(n) AS events,
    sum(e) AS errors,
    sum(g) AS good,
    sum(n * n) AS sum_n2,
    sum(e * e) AS sum_e2,
    sum(e * n) AS sum_en,
    sum(g * g) AS sum_g2,
    sum(g * n) AS sum_gn
FROM
(
    SELECT
        toString(cohort) AS cohort,
        unit,
        toFloat64(uniqExact(event_id)) AS n,
        toFloat64(uniqExactIf(event_id, is_error = 1)) AS e,
        toFloat64(uniqExactIf(event_id,
            (@good_not_error = 0 OR is_error = 0)
            AND (@good_max_ns = 0 OR duration_ns <= @good_max_ns)
            AND (@good_http = 0 OR has(@good_codes, toString(http_status))))) AS g
    FROM
    (
        SELECT
            event_id, cohort, is_error, duration_ns, http_status,
            if(@unit_attr = '', subject_id,
               if(has(attr_keys, @unit_attr), attr_values[indexOf(attr_keys, @unit_attr)],
                  if(has(res_keys, @unit_attr), res_values[indexOf(res_keys, @unit_attr)], ''))) AS unit_value,
            if(unit_value = '', concat('\x1Fevent\x1F', event_id), unit_value) AS unit
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
    )
    GROUP BY cohort, unit
)
GROUP BY cohort
ORDER BY cohort
