-- The flow check's one read per flow: every item of @flow whose first event
-- lies in [@since_ns, @until_ns), from the flow_stages view (duplicates
-- change nothing there: min/max states are idempotent).
--
-- Items that are not complete come back one row each (item_key set); they
-- are what the check judges against the watermark and its per-stage
-- deadlines. Complete items are only counted, one row per experiment,
-- cohort, synthetic marker and in_report (item_key = ''): a busy day has
-- millions of them and the check needs only their number, the newest start
-- and the newest completion.
--
-- stage_mask has bit i set when stage @stages[i + 1] was seen (at most 64
-- stages); @full_mask has every stage's bit. in_report is 1 for items that
-- started at or after @report_since_ns; older rows are read only to judge
-- absence (when was the last item started or completed).
--
-- Rows come in no particular order (sorting 100k keys costs more than the
-- rest of the check; the caller sorts what it lists).
-- crosscheck: unordered
SELECT
    if(item_mask = @full_mask, '', flow_key) AS item_key,
    item_exp AS experiment_id,
    item_cohort AS cohort,
    item_synthetic AS synthetic,
    item_first >= @report_since_ns AS in_report,
    count() AS items,
    min(item_first) AS min_first_ns,
    max(item_first) AS max_first_ns,
    max(item_last) AS max_last_ns,
    any(item_mask) AS stage_mask
FROM
(
    -- One level of grouping is enough: min, max and bit-or are idempotent,
    -- so the per-stage states of a key merge straight into the item.
    SELECT
        flow_key,
        minMerge(first_ns) AS item_first,
        maxMerge(last_ns) AS item_last,
        groupBitOr(bitShiftLeft(toUInt64(1), toUInt64(indexOf(@stages, stage) - 1))) AS item_mask,
        maxMerge(experiment_id) AS item_exp,
        maxMerge(cohort) AS item_cohort,
        maxMerge(synthetic) AS item_synthetic
    FROM {{.DB}}.flow_stages
    WHERE flow = @flow
      AND day >= toDate(toDateTime(intDiv(@since_ns, 1000000000))) - 1
      AND has(@stages, stage)
    GROUP BY flow_key
)
WHERE item_first >= @since_ns AND item_first < @until_ns
GROUP BY item_key, experiment_id, cohort, synthetic, in_report
