-- Distinct counts of buckets old enough to be settled, cached so the next
-- look reads only buckets whose row count changed (see
-- 0006_cohort_tally.up.sql and analyze/cohort_settled.sql).
INSERT INTO {{.DB}}.cohort_settled (experiment_id, bucket, cohort, service, name, events, errors, rows_at, computed_ns)
