-- The second part of sli_unit_rows.sql: the @dirty buckets (raw rows above
-- distinct events) counted on the raw table (distinct event ids) within
-- [@dirty_since_s, @dirty_until_s), per 10-second bucket, cohort and unit
-- (cityHash64 of the subject; an event without one a unit of its own).
-- Same columns; read only when a bucket is dirty.
SELECT if(@per_bucket = 1, bucket_s, toUInt32(0)) AS bucket, toUInt8(c) AS cohort, unit, sum(rows) AS events, sum(error_rows) AS errors
FROM
(
    SELECT bucket_s, c, unit, toUInt64(uniqExact(event_id)) AS rows, toUInt64(uniqExactIf(event_id, is_error = 1)) AS error_rows
    FROM
    (
        SELECT
            toUInt32(intDiv(toUInt32(event_time), 10) * 10) AS bucket_s, cohort AS c, event_id, is_error,
            if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) AS unit
        FROM {{.DB}}.events
        PREWHERE experiment_id = @experiment_id
          AND event_time >= toDateTime(@dirty_since_s) AND event_time < toDateTime(@dirty_until_s)
        WHERE has(@dirty, intDiv(toUInt32(event_time), 10) * 10)
          AND cohort != 'none'
          AND synthetic = 0
          AND has(@kinds, toString(kind))
          AND (@service = '' OR service = @service)
          AND (@operation = '' OR name = @operation)
    )
    GROUP BY bucket_s, c, unit
)
GROUP BY bucket, c, unit
ORDER BY bucket, c, unit
