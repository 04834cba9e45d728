-- unit_groups_minute (0019) rolled up to whole 10-minute blocks, so a
-- comparison over an hour reads about 6 rows per cohort, operation and
-- group instead of 60 (analyze/sli_unit_groups.sql): the same columns and
-- groups (cityHash64(unit) % 256), with bucket the block, intDiv(t, 600) *
-- 600, of the event (every minute of unit_groups_minute and every
-- 10-second bucket of unit_groups lies in one block).
--
-- A reader uses a block's row only when the whole block lies in its
-- window and none of the block's 10-second buckets holds a duplicate (raw
-- rows above distinct events, as for unit_groups); the other whole minutes
-- of the window it reads from unit_groups_minute, and the rest (the ragged
-- edges and the minutes with a duplicate) from unit_groups and the raw
-- table as before, so the answer stays the exact distinct count. Rows, not
-- distinct events, as in unit_groups.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "unit_groups_block"}}{{.OnCluster}}
ENGINE = {{engine "unit_groups_block" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, kind, synthetic, grp)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 600) * 600) AS bucket,
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
{{.Distributed "unit_groups_block" ""}}
