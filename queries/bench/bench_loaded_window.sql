-- `make bench-compare`: the first second of a loaded experiment's hour.
SELECT toUInt32(min(event_time)) FROM {{.DB}}.events WHERE experiment_id = @experiment_id
