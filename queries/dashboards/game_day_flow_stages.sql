-- Game-day dashboard: how many items of one flow reached each stage, for
-- items first seen in [since_s, until_s), real and synthetic. A stage that
-- items stop before shows as a drop in this funnel; `analyze flows check`
-- names the stuck items.
SELECT
    stage,
    count() AS items,
    sum(syn) AS synthetic_items
FROM
(
    SELECT flow_key, stage, minMerge(first_ns) AS first, maxMerge(synthetic) AS syn
    FROM {{.DB}}.flow_stages
    WHERE flow = @flow
      AND day >= toDate(toDateTime(@since_s)) - 1
    GROUP BY flow_key, stage
)
WHERE flow_key IN
(
    SELECT flow_key
    FROM {{.DB}}.flow_stages
    WHERE flow = @flow
      AND day >= toDate(toDateTime(@since_s)) - 1
    GROUP BY flow_key
    HAVING minMerge(first_ns) >= @since_s * 1000000000 AND minMerge(first_ns) < @until_s * 1000000000
)
GROUP BY stage
ORDER BY items DESC, stage
