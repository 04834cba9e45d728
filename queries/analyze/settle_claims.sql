-- The fresh claims (made since @fresh_ns) to compute the settled counts of
-- the hours in [since_s, until_s) of an experiment's traffic ('' for the
-- untagged; schema/0020_settle_claims.up.sql), earliest first: a bucket is
-- computed by the earliest claim whose buckets [from_s, until_s) hold it,
-- and the other readers wait for cohort_settled to hold it.
SELECT toUInt32(from_bucket) AS from_s, toUInt32(until_bucket) AS until_s, claimant
FROM {{.DB}}.settle_claims
WHERE experiment_id = @experiment_id
  AND hour >= toDateTime(@since_s) AND hour < toDateTime(@until_s)
  AND claimed_ns >= @fresh_ns
ORDER BY claimed_ns, claimant
