-- Retention: drop one day partition of a table. ClickHouse 18.16 has no
-- TTL, so old data goes by whole partitions. On a cluster this is the
-- replicated <table>_local on every server (ON CLUSTER), for a materialized
-- view its inner table (see Data.Stored).
ALTER TABLE {{.Stored}}{{.OnCluster}} DROP PARTITION @day
