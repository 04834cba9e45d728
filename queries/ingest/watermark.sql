-- The sink's latest committed progress per partition of one consumer group.
-- A caught-up row may come from any sink of the group, also one that never
-- read the partition and so knows no event time there (0): for a caught-up
-- partition max_event_ns is the newest event time any row recorded (only
-- shown; its watermark is the check time), for a behind one the holder's.
SELECT
    topic,
    partition,
    argMax(committed_offset, updated_ns) AS committed_offset,
    if(caught_up = 1, max(max_event_ns), argMax(max_event_ns, updated_ns)) AS max_event_ns,
    argMax(caught_up, updated_ns) AS caught_up,
    max(updated_ns) AS last_update_ns
FROM {{.DB}}.sink_progress
WHERE consumer_group = @consumer_group
GROUP BY topic, partition
ORDER BY topic, partition
