-- Retention: the day partitions (PARTITION BY toYYYYMMDD(column)) of a
-- table that lie wholly before @before_day (YYYYMMDD). Reads DB.table, the
-- Distributed table on a cluster, so every shard's partitions are listed;
-- the WHERE prunes to the old partitions, which are about to be dropped.
SELECT DISTINCT toYYYYMMDD({{.Column}}) AS partition_day
FROM {{.DB}}.{{.Table}}
WHERE toYYYYMMDD({{.Column}}) < @before_day
ORDER BY partition_day
