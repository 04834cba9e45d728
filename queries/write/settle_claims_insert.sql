-- A reader's claim to compute and cache the settled counts of an hour of
-- an experiment's traffic ('' for the untagged) (schema/0020_settle_claims.up.sql).
INSERT INTO {{.DB}}.settle_claims (experiment_id, hour, from_bucket, until_bucket, claimant, claimed_ns)
