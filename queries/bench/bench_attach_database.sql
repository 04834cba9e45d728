-- ingestbench: attach a database detached after its run
-- (bench_detach_database.sql) so that it can be dropped.
ATTACH DATABASE IF NOT EXISTS {{.DB}}
