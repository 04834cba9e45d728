-- Records one applied migration.
INSERT INTO {{.DB}}.schema_migrations (version, name, checksum, applied_at)
