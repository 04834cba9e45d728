-- Raw rows counted by cohort_tally (every span, event and log record
-- inserted, duplicates included): ingestbench's check that the Kafka-engine
-- baseline fed the views as well as the events table.
SELECT sum(rows) FROM {{.DB}}.cohort_tally
