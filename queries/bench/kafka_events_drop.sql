DROP TABLE {{.DB}}.kafka_events
