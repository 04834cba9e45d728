-- `make bench-compare` cold start: forget every settled count (a cache;
-- the bench's own database), so the watchers start on a database nobody
-- has looked at.
TRUNCATE TABLE {{.DB}}.cohort_settled
