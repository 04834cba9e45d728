DROP TABLE {{.DB}}.kafka_mv
