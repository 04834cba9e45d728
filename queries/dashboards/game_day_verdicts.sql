-- Game-day dashboard: how the live decision evolved. One series per SLI
-- of the experiment: the anytime-valid p-value (adjusted across SLIs) of
-- every look `analyze live` wrote, the verdict as a number (0 pass,
-- 1 inconclusive or too few data, 2 fail) and whether a stop condition
-- held, in [since_s, until_s).
SELECT
    evaluated_at AS time,
    sli,
    adjusted_p_value AS p_value,
    multiIf(verdict = 'fail', 2, verdict = 'pass', 0, 1) AS verdict_level,
    effect,
    stop_holds
FROM {{.DB}}.verdict_history
WHERE experiment_id = @experiment_id
  AND source = 'live'
  AND evaluated_at >= toDateTime(@since_s) AND evaluated_at < toDateTime(@until_s)
ORDER BY time, sli
