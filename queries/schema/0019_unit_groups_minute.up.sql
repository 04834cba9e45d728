-- unit_groups (0016) rolled up to whole minutes, so a comparison over an
-- hour reads about 60 rows per cohort, operation and group instead of 360
-- (analyze/sli_unit_groups.sql): the same columns and groups
-- (cityHash64(unit) % 256), with bucket the minute, intDiv(t, 60) * 60, of
-- the event (every 10-second bucket of unit_groups lies in one minute).
--
-- A reader uses a minute's row only when the whole minute lies in its
-- window and none of the minute's 10-second buckets holds a duplicate
-- (raw rows above distinct events, as for unit_groups); the other buckets
-- of the window (its ragged edges and the minutes with a duplicate) it
-- reads from unit_groups and the raw table as before, so the answer stays
-- the exact distinct count. Rows, not distinct events, as in unit_groups.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "unit_groups_minute"}}{{.OnCluster}}
ENGINE = {{engine "unit_groups_minute" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, kind, synthetic, grp)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 60) * 60) AS bucket,
    cohort,
    service,
    name,
    kind,
    synthetic,
    toUInt16(if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) % 256) AS grp,
    count() AS rows,
    countIf(is_error = 1) AS error_rows
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
GROUP BY experiment_id, bucket, cohort, service, name, kind, synthetic, grp
{{.Distributed "unit_groups_minute" ""}}
