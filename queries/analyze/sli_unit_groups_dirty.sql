-- The @dirty buckets of sli_unit_groups.sql (raw rows above distinct
-- events) counted on the raw table (distinct event ids) within
-- [@dirty_since_s, @dirty_until_s), per cohort and unit group. Same
-- columns; read only when a bucket is dirty.
SELECT cohort, toUInt16(unit % 256) AS grp, toUInt64(uniqExact(event_id)) AS events, toUInt64(uniqExactIf(event_id, is_error = 1)) AS errors
FROM
(
    SELECT
        toString(cohort) AS cohort, event_id, is_error,
        if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) AS unit
    FROM {{.DB}}.events
    PREWHERE experiment_id = @experiment_id
      AND event_time >= toDateTime(@dirty_since_s) AND event_time < toDateTime(@dirty_until_s)
    WHERE has(@dirty, intDiv(toUInt32(event_time), 10) * 10)
      AND cohort != 'none'
      AND synthetic = 0
      AND kind IN ('span', 'event', 'log')
      AND (@logs = 1 OR kind != 'log')
      AND (@service = '' OR service = @service)
      AND (@operation = '' OR name = @operation)
)
GROUP BY cohort, grp
ORDER BY cohort, grp
