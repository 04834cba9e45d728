-- The bookkeeping of `analyze migrate`: one row per applied migration with
-- the checksum of its rendered text.
CREATE TABLE IF NOT EXISTS {{.DB}}.schema_migrations{{.OnCluster}}
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime
)
ENGINE = {{engine "schema_migrations" "MergeTree" ""}}
ORDER BY version
