-- `make bench-compare`: distinct events of the compared experiment.
SELECT uniqExact(event_id) FROM {{.DB}}.events WHERE experiment_id = @experiment_id
