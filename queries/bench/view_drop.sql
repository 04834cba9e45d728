-- ingestbench -ch-cost: a fresh database keeps the events table and only
-- the views a run measures; the others (names from bench/views.sql, the
-- schema's own views) are dropped before it.
DROP TABLE {{.DB}}.{{.Table}}
