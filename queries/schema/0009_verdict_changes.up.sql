-- Why a live verdict changed: one row per SLI and look at which its verdict
-- changed (pass -> fail when a fault starts late, fail or pass ->
-- inconclusive when the interval empties, ...), with the reason the
-- monitor gave. Written beside verdict_history (query.WriteVerdicts); the
-- report's timeline reads it (analyze/verdict_changes.sql). A table of its
-- own, since 18.16 has no ALTER TABLE ... ADD COLUMN IF NOT EXISTS and
-- every migration statement must be safe to run again.
CREATE TABLE IF NOT EXISTS {{.Local "verdict_changes"}}{{.OnCluster}}
(
    experiment_id String,
    run_id        String,
    source        String,
    evaluated_at  DateTime,
    evaluated_ns  UInt64,
    sli           String,
    from_verdict  String,
    to_verdict    String,
    reason        String
)
ENGINE = {{engine "verdict_changes" "MergeTree" ""}}
PARTITION BY toYYYYMMDD(evaluated_at)
ORDER BY (experiment_id, evaluated_ns, sli)
{{.Distributed "verdict_changes" "cityHash64(experiment_id)"}}
