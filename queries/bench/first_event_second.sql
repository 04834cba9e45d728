-- The first event's second of an experiment (comparebench --keep finds
-- the loaded window with it).
SELECT toUInt32(min(event_time)) FROM {{.DB}}.events WHERE experiment_id = @experiment_id
