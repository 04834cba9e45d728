-- The sink's insert into the events table, columns in telemetry.Columns
-- order (telemetry.Schema; TestInsertColumnsAreTheSchema checks it). The
-- rows go in as a native-protocol batch; 18.16 needs the column list.
INSERT INTO {{.DB}}.events (event_id, event_time, event_time_ns, ingest_time, ingest_time_ns, kind, service, name, trace_id, span_id, parent_span_id, flow, flow_key, stage, experiment_id, cohort, synthetic, status, is_error, error_type, http_status, duration_ns, subject_id, severity, attr_keys, attr_values, res_keys, res_values, body, kafka_partition, kafka_offset)
