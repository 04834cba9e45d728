-- The unit-level tallies compare reads for a settled window, computed once
-- and kept (analyze/unit_settled.sql): the 256 unit groups' events and
-- errors per cohort (unit_groups, unit_groups_minute) and the distinct
-- units per cohort in the hash slice the window calls for (unit_seen,
-- analysis.UnitSampleShift), of the ratio SLIs that count every event of
-- both cohorts (no service, operation or attribute filter, log records
-- included: the error-rate SLI of the defaults). Reading them again costs
-- about 30 ms of ClickHouse CPU at 10M events per look, and a comparison of a
-- finished run asks for the same window every time.
--
-- One row per computation (the newest wins) with what it was computed
-- from, and a reader uses it only while both still hold, so the answer
-- stays exact (query.Reader.settledUnits):
--   window_rows: the groups' raw rows of both cohorts, which the reader
--     compares with cohort_tally's raw rows of the window
--     (analyze/window_rows.sql). cohort_tally is written before the
--     unit_groups views (0006: ClickHouse pushes an insert to the views in
--     name order), so the groups' rows are always among the tally's, and
--     equal totals mean the same rows,
--   slice_rows: unit_seen's rows in the slice, which the reader reads
--     again (analyze/unit_slice_rows.sql): the slice only grows, so an
--     equal total means the same rows and the same distinct units.
-- Only windows without a decided trace (the by-trace reads add untagged
-- spans the tally does not see) and, at use, without a duplicate are
-- taken from here.
CREATE TABLE IF NOT EXISTS {{.Local "unit_settled"}}{{.OnCluster}}
(
    experiment_id    String,
    since            DateTime,
    until            DateTime,
    unit_shift       UInt8,
    window_rows      UInt64,
    slice_rows       UInt64,
    control_units    UInt64,
    experiment_units UInt64,
    cohorts          Array(String),
    grps             Array(UInt16),
    events           Array(UInt64),
    errors           Array(UInt64),
    computed_ns      UInt64
)
ENGINE = {{engine "unit_settled" "ReplacingMergeTree" "computed_ns"}}
PARTITION BY toYYYYMMDD(since)
ORDER BY (experiment_id, since, until, unit_shift)
{{.Distributed "unit_settled" "cityHash64(experiment_id)"}}
