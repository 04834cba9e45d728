-- The sink's latest committed progress per partition of one consumer group.
SELECT
    topic,
    partition,
    argMax(committed_offset, updated_ns) AS committed_offset,
    argMax(max_event_ns, updated_ns) AS max_event_ns,
    argMax(caught_up, updated_ns) AS caught_up,
    max(updated_ns) AS last_update_ns
FROM {{.DB}}.sink_progress
WHERE consumer_group = @consumer_group
GROUP BY topic, partition
ORDER BY topic, partition
