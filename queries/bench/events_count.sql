-- Rows in the events table, of one experiment or (@experiment_id '') all;
-- the cheap poll before events_distinct.sql confirms.
SELECT count() FROM {{.DB}}.events WHERE @experiment_id = '' OR experiment_id = @experiment_id
