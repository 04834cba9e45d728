-- One row per SLI of each evaluation that `analyze live` or `compare`
-- makes (query.WriteVerdicts; table in 0015_verdict_history.up.sql). The
-- rows go in as a native-protocol batch; 18.16 needs the column list.
INSERT INTO {{.DB}}.verdict_history (experiment_id, run_id, source, evaluated_at, evaluated_ns, window_since_ns, window_until_ns, overall_verdict, stop, sli, sli_type, unit, analysis_unit, control_n, experiment_n, control_units, experiment_units, control_value, experiment_value, effect, ci_lower, ci_upper, ci_lower_bounded, ci_upper_bounded, p_value, adjusted_p_value, verdict, provisional, stop_condition, stop_crossed, stop_holds, stop_value, stop_since_ns)
