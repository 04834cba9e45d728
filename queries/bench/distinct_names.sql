-- The distinct event names of an experiment from event time @since_s on
-- (ingestbench's latency probe names each probe event uniquely and asks
-- only from its oldest probe not yet seen, so that the probe reads the
-- newest granules of the (experiment_id, event_time, ...) key instead of
-- the whole experiment every 10 ms).
SELECT DISTINCT name FROM {{.DB}}.events
WHERE experiment_id = @experiment_id AND event_time >= toDateTime(@since_s)
