-- What the sink has committed, per consumer group and partition: the offset,
-- the newest event time committed, and whether the partition was caught up
-- when the row was written. Flow checks judge only windows older than the
-- watermark these rows give, so a paused sink never produces stuck items.
CREATE TABLE IF NOT EXISTS {{.Local "sink_progress"}}{{.OnCluster}}
(
    consumer_group   String,
    topic            String,
    partition        Int32,
    committed_offset Int64,
    max_event_ns     UInt64,
    caught_up        UInt8,
    updated_ns       UInt64
)
ENGINE = {{engine "sink_progress" "ReplacingMergeTree" "updated_ns"}}
ORDER BY (consumer_group, topic, partition)
{{.Distributed "sink_progress" "cityHash64(consumer_group, topic, partition)"}}
