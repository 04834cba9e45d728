-- The sink's progress per partition after each committed batch and every
-- heartbeat; ingest/watermark.sql reads the latest row per partition.
INSERT INTO {{.DB}}.sink_progress (consumer_group, topic, partition, committed_offset, max_event_ns, caught_up, updated_ns)
