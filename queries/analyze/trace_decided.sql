-- Whether any trace was decided for the experiment within @slack_s
-- seconds of [since_s, until_s) (trace_cohorts_v2): 1 or 0. The by-trace
-- queries (trace_buckets.sql, sli_counts_by_trace.sql,
-- sli_latency_sample_by_trace.sql, the by-trace parts of the unit reads)
-- scan the window's untagged events; without a decided trace they find
-- nothing, so the reader skips them. Reads a few index granules.
SELECT toUInt8(count() > 0) AS decided
FROM
(
    SELECT trace_id
    FROM {{.DB}}.trace_cohorts_v2
    WHERE experiment_id = @experiment_id
      AND first_seen >= toDateTime(@since_s - @slack_s) AND first_seen < toDateTime(@until_s + @slack_s)
    LIMIT 1
)
