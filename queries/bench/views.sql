-- The materialized views of a database and their DDL as ClickHouse stores
-- it: ingestbench's Kafka-engine baseline (path C) attaches a copy of every
-- view to its Kafka table, because on 18.16 a view that writes TO the
-- events table (kafka_mv) does not push its rows on to the views reading
-- the events table; only a direct insert into events does.
SELECT name, create_table_query FROM system.tables
WHERE database = @database AND engine = 'MaterializedView' ORDER BY name
