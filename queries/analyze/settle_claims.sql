-- Per hour in [since_s, until_s) of an experiment's (or, '', the untagged)
-- traffic, the earliest claim made since @fresh_ns to compute its settled
-- counts (schema/0020_settle_claims.up.sql) and the buckets it names: its
-- claimant computes those, the other readers wait for cohort_settled to
-- hold them.
SELECT
    toUInt32(hour) AS hour_s,
    argMin(claimant, claimed_ns) AS claimant,
    toUInt32(argMin(from_bucket, claimed_ns)) AS from_s,
    toUInt32(argMin(until_bucket, claimed_ns)) AS until_s
FROM {{.DB}}.settle_claims
WHERE experiment_id = @experiment_id
  AND hour >= toDateTime(@since_s) AND hour < toDateTime(@until_s)
  AND claimed_ns >= @fresh_ns
GROUP BY hour
ORDER BY hour_s
