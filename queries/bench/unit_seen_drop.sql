-- ingestbench path B0: the sink-only run without the unit_seen view
-- (migration 0017), to measure what that view costs ClickHouse per row.
DROP TABLE {{.DB}}.unit_seen
