-- The distinct randomization units of an experiment in a window, exactly,
-- without grouping millions of events by unit (analyze/unit_count.sql):
-- one row per experiment, cohort, unit, 10-second bucket, service,
-- operation and kind, ordered by unit. The unit is cityHash64 of the
-- subject (an event without one is a unit of its own, hashed by its event
-- id, as in unit_groups). A duplicate event adds a row to its unit, never
-- a unit, so the distinct count needs no duplicate check.
--
-- Ordered by unit within an experiment and cohort, a reader can count the
-- units of a hash range only (unit <= @unit_max): an exact count of a
-- fixed random subset of the units, which is what the sample-ratio check
-- reads when an experiment has too many units to count whole quickly
-- (analysis.UnitSampleShift).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "unit_seen"}}{{.OnCluster}}
ENGINE = {{engine "unit_seen" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, cohort, unit, bucket, service, name, kind, synthetic)
POPULATE
AS SELECT
    experiment_id,
    cohort,
    if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) AS unit,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    service,
    name,
    kind,
    synthetic,
    count() AS rows
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
GROUP BY experiment_id, cohort, unit, bucket, service, name, kind, synthetic
{{.Distributed "unit_seen" ""}}
