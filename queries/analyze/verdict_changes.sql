-- The verdict changes of one experiment (written by live beside the
-- verdict history) in [since_ns, until_ns) from one source, oldest first,
-- with the reason each changed: the report's timeline says why.
SELECT
    evaluated_ns,
    run_id,
    sli,
    from_verdict,
    to_verdict,
    reason
FROM {{.DB}}.verdict_changes
WHERE experiment_id = @experiment_id
  AND source = @source
  AND evaluated_ns >= @since_ns AND evaluated_ns < @until_ns
ORDER BY evaluated_ns, sli
