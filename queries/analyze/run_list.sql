-- Recorded runs, newest first, of one experiment or of all
-- (experiment_id = ''), with the last overall verdict live or compare
-- recorded for each run in the verdict history and how many looks it
-- made ('' and 0 when none): what `analyze run list` prints.
SELECT
    run_id,
    experiment_id,
    started_ns,
    ended_ns,
    operator,
    note,
    last_verdict,
    looks
FROM
(
    SELECT run_id, experiment_id, started_ns, ended_ns, operator, note
    FROM {{.DB}}.runs FINAL
    WHERE (@experiment_id = '' OR experiment_id = @experiment_id)
) AS r
ALL LEFT JOIN
(
    SELECT
        run_id,
        experiment_id,
        argMax(overall_verdict, evaluated_ns) AS last_verdict,
        uniqExact(evaluated_ns) AS looks
    FROM {{.DB}}.verdict_history
    WHERE run_id != ''
      AND (@experiment_id = '' OR experiment_id = @experiment_id)
    GROUP BY run_id, experiment_id
) AS v USING (run_id, experiment_id)
ORDER BY started_ns DESC, experiment_id, run_id
LIMIT @limit
