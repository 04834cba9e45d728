-- Per-group tallies for the cluster-robust (delta-method) variance of
-- ratio SLIs in compare (analyze/sli_unit_groups.sql), so a comparison
-- over millions of users reads a fixed number of rows per bucket instead of
-- one per user (unit_tally holds about one row per event when users are
-- sparse in time).
--
-- Each randomization unit (cityHash64 of the event's subject as stored in
-- subject_id; an event without one is a unit of its own, hashed by its
-- event id) falls in exactly one of 256 groups, cityHash64(unit) % 256.
-- Units are independent and a group is a fixed union of units, so group
-- totals are independent too, and the cluster-robust variance computed
-- over group totals is valid: Σ_g (x_g - R n_g)² has the expectation of
-- Σ_u (x_u - R n_u)² (the cross terms between units vanish), with 256
-- instead of millions of terms (pipeline/query SLIUnitGroups). 256 groups
-- keep the read at about 1,000 rows per bucket however many users there
-- are; the variance estimate then has about 255 degrees of freedom per
-- cohort (a 95% interval would need a 0.4% wider z: negligible).
--
-- One row per experiment, 10-second bucket (the buckets of cohort_stats),
-- cohort, service, operation, kind and group: raw rows and raw error rows.
-- Rows, not distinct events: as for unit_tally, a reader uses the rows of
-- a bucket only when it holds no duplicate (cohort_tally's raw rows equal
-- cohort_stats' distinct events) and counts the others on the raw table.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "unit_groups"}}{{.OnCluster}}
ENGINE = {{engine "unit_groups" "SummingMergeTree" ""}}
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, kind, synthetic, grp)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    kind,
    synthetic,
    toUInt16(if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) % 256) AS grp,
    count() AS rows,
    countIf(is_error = 1) AS error_rows
FROM {{.Local "events"}}
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
GROUP BY experiment_id, bucket, cohort, service, name, kind, synthetic, grp
{{.Distributed "unit_groups" ""}}
