-- Who computes the settled counts of an hour of untagged traffic
-- (query.Reader.Buckets): one row per reader that found buckets of the hour
-- missing from cohort_settled and claimed them. The untagged traffic is
-- the same for every experiment's blast radius, and reading its distinct
-- counts from cohort_stats' uniqExact states is the dearest read of a
-- first look (about 1.5M events an hour at 10M events); when 20 `live`
-- watchers start at once each would read it before any had cached it.
-- The earliest fresh claim of an hour computes and caches the buckets of
-- the hour it names, [from_bucket, until_bucket); the others wait (a
-- bounded time) for cohort_settled to hold those and read them from there. A claim only decides who computes first: what a reader uses is
-- what cohort_settled holds for the tally's row count, as always, and what
-- is still missing it computes itself.
CREATE TABLE IF NOT EXISTS {{.Local "settle_claims"}}{{.OnCluster}}
(
    experiment_id String,
    hour          DateTime,
    from_bucket   DateTime,
    until_bucket  DateTime,
    claimant      String,
    claimed_ns    UInt64
)
ENGINE = {{engine "settle_claims" "MergeTree" ""}}
PARTITION BY toYYYYMMDD(hour)
ORDER BY (experiment_id, hour, claimed_ns)
{{.Distributed "settle_claims" "cityHash64(experiment_id)"}}
