-- Per-cohort sums over randomization units for one ratio SLI: the number
-- of units, events, errors and good events, and the sums over units of
-- n², errors², errors·n, good² and good·n (n = the unit's distinct
-- events), which is all the delta-method (cluster-robust) variance of a
-- ratio over units needs (stats.UnitCounts). The unit is the events'
-- subject (enduser.id / user.id / feature_flag.context.id as stored in
-- subject_id) when @unit_attr is '', else the value of that attribute
-- (event attributes first, then resource attributes). An event without a
-- unit value counts as a unit of its own, so nothing is dropped. Reads the
-- raw events table; same filters as sli_counts.sql. Untagged spans and log
-- records whose trace was decided for the experiment in ClickHouse
-- (trace_cohorts_v2, within @slack_s of the window) count in their trace's
-- cohort, as in sli_counts_by_trace.sql; without a unit value of their
-- own their unit is the trace's subject (trace_subjects) when the unit is
-- the subject.
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
            event_id, toString(cohort) AS cohort, is_error, duration_ns, http_status,
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
        UNION ALL
        SELECT
            event_id, trace_cohort AS cohort, is_error, duration_ns, http_status, own_unit AS unit_value,
            if(own_unit != '', own_unit,
               if(@unit_attr = '' AND trace_subject != '', trace_subject, concat('\x1Fevent\x1F', event_id))) AS unit
        FROM
        (
            SELECT event_id, trace_id, is_error, duration_ns, http_status, own_unit, trace_cohort
            FROM
            (
                SELECT
                    event_id, trace_id, is_error, duration_ns, http_status,
                    if(@unit_attr = '', subject_id,
                       if(has(attr_keys, @unit_attr), attr_values[indexOf(attr_keys, @unit_attr)],
                          if(has(res_keys, @unit_attr), res_values[indexOf(res_keys, @unit_attr)], ''))) AS own_unit
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
        ) AS et
        ALL LEFT JOIN
        (
            SELECT trace_id, argMin(subject, first_seen) AS trace_subject
            FROM {{.DB}}.trace_subjects
            WHERE experiment_id = @experiment_id
              AND first_seen >= toDateTime(@since_s - @slack_s) AND first_seen < toDateTime(@until_s + @slack_s)
            GROUP BY trace_id
        ) AS s USING trace_id
    )
    GROUP BY cohort, unit
)
GROUP BY cohort
ORDER BY cohort
