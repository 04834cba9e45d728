-- A run's row (`analyze run start|stop`); a newer updated_ns replaces an
-- older row of the same run (ReplacingMergeTree, read with FINAL).
INSERT INTO {{.DB}}.runs (run_id, experiment_id, started_ns, ended_ns, operator, note, updated_ns)
