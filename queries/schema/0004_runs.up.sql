-- Experiment runs written by `analyze run start|stop`. A stop rewrites the
-- row with a newer updated_ns; readers use FINAL or argMax.
CREATE TABLE IF NOT EXISTS {{.Local "runs"}}{{.OnCluster}}
(
    run_id        String,
    experiment_id String,
    started_ns    UInt64,
    ended_ns      UInt64,
    operator      String,
    note          String,
    updated_ns    UInt64
)
ENGINE = {{engine "runs" "ReplacingMergeTree" "updated_ns"}}
ORDER BY (experiment_id, run_id)
{{.Distributed "runs" "cityHash64(run_id)"}}
