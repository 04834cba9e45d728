-- Retention: drop one day partition of a table. ClickHouse 18.16 has no
-- TTL, so old data goes by whole partitions. On a cluster this is the
-- replicated <table>_local on every server (ON CLUSTER); on a materialized
-- view the server drops the partition of the view's inner table.
ALTER TABLE {{.Local .Table}}{{.OnCluster}} DROP PARTITION @day
