-- The sink's latest committed progress per partition of one consumer group.
-- "Latest" is the highest committed offset, newest write among equals, not
-- simply the newest write: with several sinks in one group, a sink that
-- lost a partition in a rebalance keeps heartbeating the offset it last
-- saw there, with a fresh updated_ns, and must not pull the watermark back
-- (found by the cluster's same-answers test, two sinks in one group).
SELECT topic, partition, o AS committed_offset, e AS max_event_ns, c AS caught_up, u AS last_update_ns
FROM
(
    SELECT
        topic,
        partition,
        argMax(committed_offset, (committed_offset, updated_ns)) AS o,
        argMax(max_event_ns, (committed_offset, updated_ns)) AS e,
        argMax(caught_up, (committed_offset, updated_ns)) AS c,
        argMax(updated_ns, (committed_offset, updated_ns)) AS u
    FROM {{.DB}}.sink_progress
    WHERE consumer_group = @consumer_group
    GROUP BY topic, partition
)
ORDER BY topic, partition
