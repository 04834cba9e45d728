-- Distinct events of one experiment or (@experiment_id '') all: a
-- duplicate row never counts as an event.
SELECT uniqExact(event_id) FROM {{.DB}}.events WHERE @experiment_id = '' OR experiment_id = @experiment_id
