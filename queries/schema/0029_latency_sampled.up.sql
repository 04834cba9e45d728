-- The events a latency sample can keep when both cohorts' shares are at
-- most a sixteenth: the rows whose intHash64(event_time_ns) % 1000000 is
-- below 62500, the first stage of the sample's event condition
-- (analyze/sli_latency_sample.sql), with the columns the sample reads.
-- A sample of a large cohort reads these instead of the events table:
-- a live experiment's hour (225k events, shares about 45,000 ppm) is
-- 14k rows here against 237k there, and the first looks of 20 watchers of
-- 20 such experiments, started together, spent 1.15 s of the server's CPU
-- in that read alone (18.16, the 10M-event bench database).
--
-- The same rows as the events table's that pass the condition, inserted
-- with them (synthetic traffic, untagged events and kinds the sample never
-- reads left out), the same key, and duplicates kept until a merge as
-- there: the sample's LIMIT 1 BY event_id drops them on either table, so a
-- read gives the same events from both. Events resolved by their trace
-- (untagged rows) and attribute filters still read the events table.
-- Retention drops its days with the raw events (pipeline/retention).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "latency_sampled"}}{{.OnCluster}}
ENGINE = {{engine "latency_sampled" "ReplacingMergeTree" ""}}
PARTITION BY toYYYYMMDD(event_time)
ORDER BY (experiment_id, event_time, event_id)
POPULATE
AS SELECT
    experiment_id,
    event_time,
    event_time_ns,
    event_id,
    cohort,
    kind,
    synthetic,
    service,
    name,
    duration_ns
FROM {{.Local "events"}}
WHERE intHash64(event_time_ns) % 1000000 < 62500
  AND experiment_id != ''
  AND cohort != 'none'
  AND synthetic = 0
  AND kind IN ('span', 'event')
{{.Distributed "latency_sampled" ""}}
