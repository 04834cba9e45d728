-- The raw rows unit_seen (0017) has taken in, per experiment and 10-second
-- bucket: the mark that tells a reader unit_seen holds every row of a
-- window, read in a handful of rows (analyze/unit_seen_window_rows.sql).
--
-- ClickHouse pushes an insert to the views of events one after another in
-- name order (0006), and this view's name sorts after unit_seen's: every
-- row counted here was in unit_seen before, and every row of unit_seen in
-- cohort_tally and unit_groups before that. Not so with the sink's
-- --parallel-views (off by default: the views are written side by side),
-- nor on a replica that fetches the parts of each table on its own, so
-- the reader relies on it on a single server only (query.Reader.keepUnits;
-- on a cluster it reads the slice's rows as before). So when this view's rows of a
-- window, read before a distinct-unit count starts, equal the unit
-- groups' raw rows of the window the count goes with, unit_seen held all
-- of those rows when the count read it; a count kept with that proof
-- (unit_settled: slice_rows = window_rows, query.Reader.keepUnits) holds
-- for as long as cohort_tally's raw rows of the window are unchanged, and
-- a repeat comparison need not read the slice's unit_seen rows again to
-- tell (10-14 ms of ClickHouse CPU at 10M events). The same filter as
-- unit_seen, so the totals count the same rows.
--
-- What every insert pays for it: its SELECT over a 100k-row block of the
-- 10M bench database took 5.6 ms of CPU [5.3..8.0] (15 runs, query_log),
-- unit_seen's 55 ms [48..81], the whole insert with every view about
-- 620 ms (load 9-14): about 1 % more per insert, and one small part.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "unit_seen_rows"}}{{.OnCluster}}
ENGINE = {{engine "unit_seen_rows" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, synthetic)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    synthetic,
    count() AS rows
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
GROUP BY experiment_id, bucket, synthetic
{{.Distributed "unit_seen_rows" ""}}
