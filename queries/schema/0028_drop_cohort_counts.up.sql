-- cohort_counts (0021) held cohort_stats' distinct-count states again in
-- small granules for the bucket reads; those reads count the events
-- table's ids instead (analyze/cohort_buckets.sql) and nothing reads it
-- any more, while every insert still built and merged its hash sets: about
-- 0.3 CPU-s of ClickHouse per 1M events inserted (bench shape) to 0.6 (the
-- demo's shape), `ingestbench -ch-cost`.
{{.DropDistributed "cohort_counts"}}DROP TABLE IF EXISTS {{.Local "cohort_counts"}}{{.OnCluster}}
