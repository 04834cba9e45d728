-- The bookkeeping of `analyze migrate`: one row per applied migration with
-- the checksum of its rendered text. On a cluster it is one table
-- replicated to every server (no {shard} in the path): whichever server
-- migrate connects to knows what was applied.
CREATE TABLE IF NOT EXISTS {{.DB}}.schema_migrations{{.OnCluster}}
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime
)
ENGINE = {{if .Cluster}}ReplicatedMergeTree('/clickhouse/tables/all/{{.DB}}/schema_migrations', '{shard}-{replica}'){{else}}MergeTree(){{end}}
ORDER BY version
