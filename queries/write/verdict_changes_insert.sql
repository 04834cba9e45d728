-- One row per SLI whose live verdict changed at a look, with the reason
-- (query.WriteVerdicts; table in 0009_verdict_changes.up.sql). A
-- native-protocol batch; 18.16 needs the column list.
INSERT INTO {{.DB}}.verdict_changes (experiment_id, run_id, source, evaluated_at, evaluated_ns, sli, from_verdict, to_verdict, reason)
