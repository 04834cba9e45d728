-- clickhouse-client's insert of the Kafka records' wire form (the events
-- columns without the Kafka position), ingestbench's direct-insert baseline.
INSERT INTO {{.DB}}.events (event_id, event_time, event_time_ns, ingest_time, ingest_time_ns, kind, service, name, trace_id, span_id, parent_span_id, flow, flow_key, stage, experiment_id, cohort, synthetic, status, is_error, error_type, http_status, duration_ns, subject_id, severity, attr_keys, attr_values, res_keys, res_values, body) FORMAT JSONEachRow
