-- Runs of one experiment, newest first (the first row is the latest run).
SELECT run_id, experiment_id, started_ns, ended_ns, operator, note
FROM {{.DB}}.runs FINAL
WHERE experiment_id = @experiment_id
ORDER BY started_ns DESC, run_id
LIMIT @limit
