-- `make bench-compare`: raw rows of an experiment already loaded (0 = load).
SELECT count() FROM {{.DB}}.events WHERE experiment_id = @experiment_id
