-- Verdict history: every evaluation `analyze live` (source 'live') and
-- `analyze compare` (source 'compare') makes, one row per SLI and look,
-- so the report, the Grafana panels and the notebook can show how the
-- decision evolved and when each stop condition first held. Rows are
-- only appended; a look is identified by (experiment_id, run_id,
-- evaluated_ns, source).
CREATE TABLE IF NOT EXISTS {{.Local "verdict_history"}}{{.OnCluster}}
(
    experiment_id    String,
    run_id           String,
    source           String,
    evaluated_at     DateTime,
    evaluated_ns     UInt64,
    window_since_ns  UInt64,
    window_until_ns  UInt64,
    overall_verdict  String,
    stop             UInt8,
    sli              String,
    sli_type         String,
    unit             String,
    control_n        UInt64,
    experiment_n     UInt64,
    control_value    Float64,
    experiment_value Float64,
    effect           Float64,
    ci_lower         Float64,
    ci_upper         Float64,
    ci_lower_bounded UInt8,
    ci_upper_bounded UInt8,
    p_value          Float64,
    adjusted_p_value Float64,
    verdict          String,
    provisional      UInt8,
    stop_condition   String,
    stop_crossed     UInt8,
    stop_holds       UInt8,
    stop_value       Float64,
    stop_since_ns    UInt64
)
ENGINE = {{engine "verdict_history" "MergeTree" ""}}
PARTITION BY toYYYYMMDD(evaluated_at)
ORDER BY (experiment_id, evaluated_ns, sli)
{{.Distributed "verdict_history" "cityHash64(experiment_id)"}}
