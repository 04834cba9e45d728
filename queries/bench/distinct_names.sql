-- The distinct event names of an experiment (ingestbench's latency probe
-- names each probe event uniquely).
SELECT DISTINCT name FROM {{.DB}}.events WHERE experiment_id = @experiment_id
