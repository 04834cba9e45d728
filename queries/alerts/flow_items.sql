-- Items of one flow whose first event lies in [since_ns, until_ns): the
-- stages seen (sorted), first and last time, cohort, synthetic marker and
-- a state judged against the flow's stages and window:
--   complete   every stage of @stages was seen;
--   in_flight  not complete, but first_ns + within is not older than the
--              watermark (the sink's committed event time), so it may yet;
--   stuck      not complete and its window has passed the watermark.
-- last_stage is the furthest stage of @stages reached.
SELECT
    flow_key,
    arraySort(groupArray(stage)) AS stages_seen,
    min(first) AS first_ns,
    max(last) AS last_ns,
    max(exp) AS experiment_id,
    toString(CAST(max(coh), 'Enum8(\'none\' = 0, \'control\' = 1, \'experiment\' = 2)')) AS cohort,
    max(syn) AS synthetic,
    @stages[arrayReduce('max', arrayMap(s -> indexOf(@stages, s), groupArray(stage)))] AS last_stage,
    multiIf(hasAll(groupArray(stage), @stages), 'complete',
            min(first) + @within_ns > @watermark_ns, 'in_flight',
            'stuck') AS state
FROM
(
    SELECT flow_key, stage,
           minMerge(first_ns) AS first, maxMerge(last_ns) AS last,
           maxMerge(experiment_id) AS exp, maxMerge(cohort) AS coh, maxMerge(synthetic) AS syn
    FROM {{.DB}}.flow_stages
    WHERE flow = @flow
      AND day >= toDate(toDateTime(intDiv(@since_ns, 1000000000))) - 1
    GROUP BY flow_key, stage
)
GROUP BY flow_key
HAVING first_ns >= @since_ns AND first_ns < @until_ns
ORDER BY flow_key
