-- How the experiment's events in [since_s, until_s) got their cohort:
-- 'direct' (their own attributes, resource, the cohort rules or a flag
-- evaluation), 'trace_ingest' (their trace's cohort, at ingest:
-- chaos.cohort.source = 'trace'), and 'trace_clickhouse' (untagged at
-- ingest, their trace decided in trace_cohorts_v2 within @slack_s seconds of
-- the window). Distinct events per cohort and source; synthetic traffic
-- left out.
SELECT cohort, source, events
FROM
(
    SELECT
        toString(cohort) AS cohort,
        if(has(attr_keys, 'chaos.cohort.source'), 'trace_ingest', 'direct') AS source,
        toUInt64(uniqExact(event_id)) AS events
    FROM {{.DB}}.events
    PREWHERE experiment_id = @experiment_id
      AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
    WHERE cohort != 'none' AND synthetic = 0 AND kind IN ('span', 'event', 'log')
    GROUP BY cohort, source
    UNION ALL
    SELECT
        trace_cohort AS cohort,
        'trace_clickhouse' AS source,
        toUInt64(uniqExact(event_id)) AS events
    FROM
    (
        SELECT event_id, trace_id
        FROM {{.DB}}.events
        PREWHERE experiment_id = ''
          AND event_time >= toDateTime(@since_s) AND event_time < toDateTime(@until_s)
        WHERE trace_id != '' AND synthetic = 0 AND kind IN ('span', 'log')
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
)
ORDER BY cohort, source
