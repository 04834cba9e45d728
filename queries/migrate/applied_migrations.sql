-- The checksum each applied migration was recorded with (the latest when
-- a migration was recorded twice).
SELECT version, argMax(checksum, applied_at)
FROM {{.DB}}.schema_migrations
GROUP BY version
