-- Distinct events stored: what a benchmark or a test waits for before it
-- stops the clock (duplicates do not count twice).
SELECT uniqExact(event_id) AS events
FROM {{.DB}}.events
