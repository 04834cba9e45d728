-- The verdict history of one experiment (written by live and compare)
-- in [since_ns, until_ns) from one source ('live' or 'compare'), oldest
-- look first: what the report's timeline and verdict-history chart read.
SELECT
    evaluated_ns,
    run_id,
    overall_verdict,
    stop,
    sli,
    control_n,
    experiment_n,
    control_value,
    experiment_value,
    effect,
    ci_lower,
    ci_upper,
    p_value,
    adjusted_p_value,
    verdict,
    provisional,
    stop_condition,
    stop_crossed,
    stop_holds,
    stop_value,
    stop_since_ns
FROM {{.DB}}.verdict_history
WHERE experiment_id = @experiment_id
  AND source = @source
  AND evaluated_ns >= @since_ns AND evaluated_ns < @until_ns
ORDER BY evaluated_ns, sli
