-- What one pass of `analyze settle` counts (query.Reader.SettleTargets):
-- the experiments with rows in cohort_tally in [@since_s, @until_s), ''
-- for the untagged traffic. Synthetic traffic never counts. One statement
-- for every experiment: the tally holds about a thousand rows per
-- experiment and hour.
SELECT experiment_id
FROM {{.DB}}.cohort_tally
WHERE bucket >= toDateTime(@since_s) AND bucket < toDateTime(@until_s)
  AND synthetic = 0
GROUP BY experiment_id
ORDER BY experiment_id
