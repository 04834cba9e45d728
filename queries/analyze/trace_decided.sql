-- Whether any trace was decided for the experiment within @slack_s
-- seconds of [since_s, until_s) (trace_cohorts_v2): a row (1) or none. The by-trace
-- queries (trace_buckets.sql, sli_counts_by_trace.sql,
-- sli_latency_sample_by_trace.sql, the by-trace parts of the unit reads)
-- scan the window's untagged events; without a decided trace they find
-- nothing, so the reader skips them. Reads a few index granules. A row or
-- none, not count() over a LIMIT 1 subquery: a live look asks this every
-- time, and 18.16 spent 2.9 ms of CPU on the subquery's pipeline against
-- 2.1 ms here with nothing to read (1.0 ms for SELECT 1).
SELECT toUInt8(1) AS decided
FROM {{.DB}}.trace_cohorts_v2
WHERE experiment_id = @experiment_id
  AND first_seen >= toDateTime(@since_s - @slack_s) AND first_seen < toDateTime(@until_s + @slack_s)
LIMIT 1
