-- Per flow item and stage: first and last time seen, and the item's
-- experiment, cohort and synthetic marker. min/max states are idempotent, so
-- duplicate events change nothing. The completeness query merges the stages
-- of an item and judges it against the flow's window.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "flow_stages"}}{{.OnCluster}}
ENGINE = {{engine "flow_stages" "AggregatingMergeTree" ""}}
PARTITION BY toYYYYMMDD(day)
ORDER BY (flow, day, flow_key, stage)
AS SELECT
    flow,
    toDate(event_time) AS day,
    flow_key,
    stage,
    minState(event_time_ns) AS first_ns,
    maxState(event_time_ns) AS last_ns,
    maxState(experiment_id) AS experiment_id,
    maxState(toUInt8(cohort)) AS cohort,
    maxState(synthetic) AS synthetic
FROM {{.Local "events"}}
WHERE flow != '' AND flow_key != '' AND stage != ''
GROUP BY flow, day, flow_key, stage
{{.Distributed "flow_stages" ""}}
