CREATE DATABASE IF NOT EXISTS steadystate ON CLUSTER `prod`;

-- One wide table for spans, logs, JSON events and alert notifications.
-- event_id is deterministic at the ingest edge, so a retried request or a
-- replayed Kafka record produces the same row; ReplacingMergeTree collapses
-- such rows during merges and every analysis query counts distinct
-- event_id, so duplicates never reach an answer before the merge either.
-- Portable to ClickHouse 18.16: DateTime plus integer nanoseconds instead of
-- DateTime64, parallel key/value arrays instead of Map, no TTL.
CREATE TABLE IF NOT EXISTS steadystate.events_local ON CLUSTER `prod`
(
    event_id        String,
    event_time      DateTime,
    event_time_ns   UInt64,
    ingest_time     DateTime,
    ingest_time_ns  UInt64,
    kind            Enum8('span' = 1, 'log' = 2, 'event' = 3, 'alert' = 4),
    service         String,
    name            String,
    trace_id        String,
    span_id         String,
    parent_span_id  String,
    flow            String,
    flow_key        String,
    stage           String,
    experiment_id   String,
    cohort          Enum8('none' = 0, 'control' = 1, 'experiment' = 2),
    synthetic       UInt8,
    status          Enum8('unset' = 0, 'ok' = 1, 'error' = 2),
    is_error        UInt8,
    error_type      String,
    http_status     UInt16,
    duration_ns     UInt64,
    subject_id      String,
    severity        String,
    attr_keys       Array(String),
    attr_values     Array(String),
    res_keys        Array(String),
    res_values      Array(String),
    body            String,
    kafka_partition Int32,
    kafka_offset    Int64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/events', '{replica}')
PARTITION BY toYYYYMMDD(event_time)
ORDER BY (experiment_id, event_time, event_id);

CREATE TABLE IF NOT EXISTS steadystate.events ON CLUSTER `prod` AS steadystate.events_local
ENGINE = Distributed('prod', 'steadystate', 'events_local', cityHash64(event_id));

-- Per experiment, cohort, service, operation and 10-second bucket: distinct
-- events, distinct errors and latency digests. Live comparison reads these
-- small states instead of scanning raw events. Distinct counts come from
-- uniqExact states keyed by event_id: an event's time is part of its
-- identity, so a duplicate always lands in the same bucket and the per-bucket
-- distinct counts add up exactly.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.cohort_stats_local ON CLUSTER `prod`
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/steadystate/cohort_stats', '{replica}')
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, synthetic)
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    synthetic,
    uniqExactState(event_id) AS events,
    uniqExactIfState(event_id, is_error = 1) AS errors,
    quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(duration_ns / 1000000.) AS latency_ms
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log')
GROUP BY experiment_id, bucket, cohort, service, name, synthetic;

CREATE TABLE IF NOT EXISTS steadystate.cohort_stats ON CLUSTER `prod` AS steadystate.cohort_stats_local
ENGINE = Distributed('prod', 'steadystate', 'cohort_stats_local');

-- Per flow item and stage: first and last time seen, and the item's
-- experiment, cohort and synthetic marker. min/max states are idempotent, so
-- duplicate events change nothing. The completeness query merges the stages
-- of an item and judges it against the flow's window.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.flow_stages_local ON CLUSTER `prod`
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/steadystate/flow_stages', '{replica}')
PARTITION BY toYYYYMMDD(day)
ORDER BY (flow, day, flow_key, stage)
AS SELECT
    flow,
    toDate(event_time) AS day,
    flow_key,
    stage,
    minState(event_time_ns) AS first_ns,
    maxState(event_time_ns) AS last_ns,
    maxState(experiment_id) AS experiment_id,
    maxState(toUInt8(cohort)) AS cohort,
    maxState(synthetic) AS synthetic
FROM steadystate.events_local
WHERE flow != '' AND flow_key != '' AND stage != ''
GROUP BY flow, day, flow_key, stage;

CREATE TABLE IF NOT EXISTS steadystate.flow_stages ON CLUSTER `prod` AS steadystate.flow_stages_local
ENGINE = Distributed('prod', 'steadystate', 'flow_stages_local');

-- Experiment runs written by `analyze run start|stop`. A stop rewrites the
-- row with a newer updated_ns; readers use FINAL or argMax.
CREATE TABLE IF NOT EXISTS steadystate.runs_local ON CLUSTER `prod`
(
    run_id        String,
    experiment_id String,
    started_ns    UInt64,
    ended_ns      UInt64,
    operator      String,
    note          String,
    updated_ns    UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/runs', '{replica}', updated_ns)
ORDER BY (experiment_id, run_id);

CREATE TABLE IF NOT EXISTS steadystate.runs ON CLUSTER `prod` AS steadystate.runs_local
ENGINE = Distributed('prod', 'steadystate', 'runs_local', cityHash64(run_id));

-- What the sink has committed, per consumer group and partition: the offset,
-- the newest event time committed, and whether the partition was caught up
-- when the row was written. Flow checks judge only windows older than the
-- watermark these rows give, so a paused sink never produces stuck items.
CREATE TABLE IF NOT EXISTS steadystate.sink_progress_local ON CLUSTER `prod`
(
    consumer_group   String,
    topic            String,
    partition        Int32,
    committed_offset Int64,
    max_event_ns     UInt64,
    caught_up        UInt8,
    updated_ns       UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/sink_progress', '{replica}', updated_ns)
ORDER BY (consumer_group, topic, partition);

CREATE TABLE IF NOT EXISTS steadystate.sink_progress ON CLUSTER `prod` AS steadystate.sink_progress_local
ENGINE = Distributed('prod', 'steadystate', 'sink_progress_local', cityHash64(consumer_group, topic, partition));

-- Exact distinct counts without reading every event id on every look.
--
-- cohort_tally counts raw rows (duplicates included) per key of
-- cohort_stats: a few bytes per bucket, summed in no time. Any insert into
-- a bucket, a late event or a duplicate, changes its row count.
--
-- cohort_settled caches the exact distinct counts of a bucket (from
-- cohort_stats' uniqExact states) with the row count they were computed at.
-- A reader uses the cache only while the bucket's row count is unchanged,
-- so the answer stays exact: analysis/Store.Buckets re-reads cohort_stats
-- only for buckets that changed (the last few seconds during a run) and
-- writes their counts back once they are older than two minutes.
-- The view name sorts after cohort_stats, so ClickHouse pushes an insert
-- to cohort_stats before cohort_tally, and a reader that reads the tally
-- before the states never caches a count older than its row count.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.cohort_tally_local ON CLUSTER `prod`
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/steadystate/cohort_tally', '{replica}')
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, synthetic)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    synthetic,
    count() AS rows
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log')
GROUP BY experiment_id, bucket, cohort, service, name, synthetic;

CREATE TABLE IF NOT EXISTS steadystate.cohort_tally ON CLUSTER `prod` AS steadystate.cohort_tally_local
ENGINE = Distributed('prod', 'steadystate', 'cohort_tally_local');

CREATE TABLE IF NOT EXISTS steadystate.cohort_settled_local ON CLUSTER `prod`
(
    experiment_id String,
    bucket        DateTime,
    cohort        Enum8('none' = 0, 'control' = 1, 'experiment' = 2),
    service       String,
    name          String,
    events        UInt64,
    errors        UInt64,
    rows_at       UInt64,
    computed_ns   UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/cohort_settled', '{replica}', computed_ns)
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name);

CREATE TABLE IF NOT EXISTS steadystate.cohort_settled ON CLUSTER `prod` AS steadystate.cohort_settled_local
ENGINE = Distributed('prod', 'steadystate', 'cohort_settled_local', cityHash64(experiment_id));

-- Per-unit tallies for the delta-method (cluster-robust) variance of ratio
-- SLIs over randomization units, so compare and live need not group the raw
-- events by unit (analyze/sli_unit_tally.sql).
--
-- One row per experiment, 10-second bucket (the buckets of cohort_stats),
-- cohort, service, operation, kind and unit: the raw rows and raw error
-- rows. The unit is cityHash64 of the event's subject (enduser.id /
-- user.id / feature_flag.context.id as stored in subject_id); 0 collects
-- the events without a subject, each of which is a unit of its own. Rows,
-- not distinct events: a bucket whose raw rows (cohort_tally) equal its
-- distinct events (cohort_stats) holds no duplicate, and only then does a
-- reader use these rows for it (it counts the other buckets on the raw
-- table), so the answer stays the exact distinct count.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.unit_tally_local ON CLUSTER `prod`
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/steadystate/unit_tally', '{replica}')
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, kind, synthetic, unit)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    kind,
    synthetic,
    if(subject_id = '', toUInt64(0), cityHash64(subject_id)) AS unit,
    count() AS rows,
    countIf(is_error = 1) AS error_rows
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log') AND experiment_id != ''
GROUP BY experiment_id, bucket, cohort, service, name, kind, synthetic, unit;

CREATE TABLE IF NOT EXISTS steadystate.unit_tally ON CLUSTER `prod` AS steadystate.unit_tally_local
ENGINE = Distributed('prod', 'steadystate', 'unit_tally_local');

-- The subject (randomization unit) of each trace decided for an
-- experiment: the subject of its earliest tagged event that has one. A span
-- or log record whose cohort comes from its trace in ClickHouse
-- (trace_cohorts) and that carries no subject of its own belongs to its
-- trace's unit (analyze/sli_unit_tally.sql, sli_unit_counts.sql): a
-- payment span of a user's checkout counts for that user. Readers take
-- argMin by first_seen, so an unmerged duplicate changes nothing.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.trace_subjects_local ON CLUSTER `prod`
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/trace_subjects', '{replica}')
PARTITION BY toYYYYMMDD(first_seen)
ORDER BY (experiment_id, trace_id)
AS SELECT
    experiment_id,
    trace_id,
    argMin(subject_id, event_time_ns) AS subject,
    min(event_time) AS first_seen
FROM steadystate.events_local
WHERE trace_id != '' AND experiment_id != '' AND cohort != 'none' AND subject_id != ''
GROUP BY experiment_id, trace_id;

CREATE TABLE IF NOT EXISTS steadystate.trace_subjects ON CLUSTER `prod` AS steadystate.trace_subjects_local
ENGINE = Distributed('prod', 'steadystate', 'trace_subjects_local');

-- Why a live verdict changed: one row per SLI and look at which its verdict
-- changed (pass -> fail when a fault starts late, fail or pass ->
-- inconclusive when the interval empties, ...), with the reason the
-- monitor gave. Written beside verdict_history (query.WriteVerdicts); the
-- report's timeline reads it (analyze/verdict_changes.sql). A table of its
-- own, since 18.16 has no ALTER TABLE ... ADD COLUMN IF NOT EXISTS and
-- every migration statement must be safe to run again.
CREATE TABLE IF NOT EXISTS steadystate.verdict_changes_local ON CLUSTER `prod`
(
    experiment_id String,
    run_id        String,
    source        String,
    evaluated_at  DateTime,
    evaluated_ns  UInt64,
    sli           String,
    from_verdict  String,
    to_verdict    String,
    reason        String
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/steadystate/verdict_changes', '{replica}')
PARTITION BY toYYYYMMDD(evaluated_at)
ORDER BY (experiment_id, evaluated_ns, sli);

CREATE TABLE IF NOT EXISTS steadystate.verdict_changes ON CLUSTER `prod` AS steadystate.verdict_changes_local
ENGINE = Distributed('prod', 'steadystate', 'verdict_changes_local', cityHash64(experiment_id));

-- The experiment and cohort of each trace, from the events that decided it
-- (tagged by their own attributes, resource, the cohort rules or a flag
-- evaluation; not those tagged by their trace at ingest). Analysis takes the
-- cohort of an untagged span or log record from its trace here when ingest
-- could not (it arrived before the deciding span, through another serve
-- instance, or after ingest's trace cache forgot the trace): see
-- trace_buckets.sql, sli_counts_by_trace.sql, sli_latency_sample_by_trace.sql.
-- One row per experiment and trace after merges; readers take the earliest
-- decision (argMin by first_seen), so an unmerged duplicate changes nothing.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.trace_cohorts_local ON CLUSTER `prod`
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/trace_cohorts', '{replica}')
PARTITION BY toYYYYMMDD(first_seen)
ORDER BY (experiment_id, trace_id)
AS SELECT
    experiment_id,
    trace_id,
    argMin(toString(cohort), event_time_ns) AS decided_cohort,
    min(event_time) AS first_seen
FROM steadystate.events_local
WHERE trace_id != '' AND experiment_id != '' AND cohort != 'none'
  AND NOT has(attr_keys, 'chaos.cohort.source')
GROUP BY experiment_id, trace_id;

CREATE TABLE IF NOT EXISTS steadystate.trace_cohorts ON CLUSTER `prod` AS steadystate.trace_cohorts_local
ENGINE = Distributed('prod', 'steadystate', 'trace_cohorts_local');

-- Verdict history: every evaluation `analyze live` (source 'live') and
-- `analyze compare` (source 'compare') makes, one row per SLI and look,
-- so the report, the Grafana panels and the notebook can show how the
-- decision evolved and when each stop condition first held. Rows are
-- only appended; a look is identified by (experiment_id, run_id,
-- evaluated_ns, source).
CREATE TABLE IF NOT EXISTS steadystate.verdict_history_local ON CLUSTER `prod`
(
    experiment_id    String,
    run_id           String,
    source           String,
    evaluated_at     DateTime,
    evaluated_ns     UInt64,
    window_since_ns  UInt64,
    window_until_ns  UInt64,
    overall_verdict  String,
    stop             UInt8,
    sli              String,
    sli_type         String,
    unit             String,
    analysis_unit    String,
    control_n        UInt64,
    experiment_n     UInt64,
    control_units    UInt64,
    experiment_units UInt64,
    control_value    Float64,
    experiment_value Float64,
    effect           Float64,
    ci_lower         Float64,
    ci_upper         Float64,
    ci_lower_bounded UInt8,
    ci_upper_bounded UInt8,
    p_value          Float64,
    adjusted_p_value Float64,
    verdict          String,
    provisional      UInt8,
    stop_condition   String,
    stop_crossed     UInt8,
    stop_holds       UInt8,
    stop_value       Float64,
    stop_since_ns    UInt64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/steadystate/verdict_history', '{replica}')
PARTITION BY toYYYYMMDD(evaluated_at)
ORDER BY (experiment_id, evaluated_ns, sli);

CREATE TABLE IF NOT EXISTS steadystate.verdict_history ON CLUSTER `prod` AS steadystate.verdict_history_local
ENGINE = Distributed('prod', 'steadystate', 'verdict_history_local', cityHash64(experiment_id));

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
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.unit_groups_local ON CLUSTER `prod`
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/steadystate/unit_groups', '{replica}')
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
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
GROUP BY experiment_id, bucket, cohort, service, name, kind, synthetic, grp;

CREATE TABLE IF NOT EXISTS steadystate.unit_groups ON CLUSTER `prod` AS steadystate.unit_groups_local
ENGINE = Distributed('prod', 'steadystate', 'unit_groups_local');

-- The distinct randomization units of an experiment in a window, exactly,
-- without grouping millions of events by unit (analyze/unit_count.sql):
-- one row per experiment, cohort, unit, 10-second bucket, service,
-- operation and kind, ordered by unit. The unit is cityHash64 of the
-- subject (an event without one is a unit of its own, hashed by its event
-- id, as in unit_groups). A duplicate event adds a row to its unit, never
-- a unit, so the distinct count needs no duplicate check.
--
-- Ordered by unit within an experiment and cohort, a reader can count the
-- units of a hash range only (unit <= @unit_max): an exact count of a
-- fixed random subset of the units, which is what the sample-ratio check
-- reads when an experiment has too many units to count whole quickly
-- (analysis.UnitSampleShift).
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.unit_seen_local ON CLUSTER `prod`
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/steadystate/unit_seen', '{replica}')
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, cohort, unit, bucket, service, name, kind, synthetic)
POPULATE
AS SELECT
    experiment_id,
    cohort,
    if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) AS unit,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    service,
    name,
    kind,
    synthetic,
    count() AS rows
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
GROUP BY experiment_id, cohort, unit, bucket, service, name, kind, synthetic;

CREATE TABLE IF NOT EXISTS steadystate.unit_seen ON CLUSTER `prod` AS steadystate.unit_seen_local
ENGINE = Distributed('prod', 'steadystate', 'unit_seen_local');

-- Raw rows per experiment, 10-second bucket, cohort and kind of the events
-- ingest tagged by their trace (attribute chaos.cohort.source), so the
-- "how events got their cohort" counts of compare (query.Reader.Tagging,
-- analyze/trace_tagged_counts.sql) need not scan every event of the
-- window: the events tagged directly are the cohort's distinct events
-- (cohort_stats) minus these. Rows, not distinct events: a reader uses the
-- rows of a bucket only when it holds no duplicate (cohort_tally's raw rows
-- equal cohort_stats' distinct events) and counts the others on the raw
-- table, as for unit_tally. Only trace-tagged events land here, so the view
-- is empty where ingest never tags by trace.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.trace_tagged_tally_local ON CLUSTER `prod`
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/steadystate/trace_tagged_tally', '{replica}')
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, kind, synthetic)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    kind,
    synthetic,
    count() AS rows
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
  AND has(attr_keys, 'chaos.cohort.source')
GROUP BY experiment_id, bucket, cohort, kind, synthetic;

CREATE TABLE IF NOT EXISTS steadystate.trace_tagged_tally ON CLUSTER `prod` AS steadystate.trace_tagged_tally_local
ENGINE = Distributed('prod', 'steadystate', 'trace_tagged_tally_local');

-- unit_groups (0016) rolled up to whole minutes, so a comparison over an
-- hour reads about 60 rows per cohort, operation and group instead of 360
-- (analyze/sli_unit_groups.sql): the same columns and groups
-- (cityHash64(unit) % 256), with bucket the minute, intDiv(t, 60) * 60, of
-- the event (every 10-second bucket of unit_groups lies in one minute).
--
-- A reader uses a minute's row only when the whole minute lies in its
-- window and none of the minute's 10-second buckets holds a duplicate
-- (raw rows above distinct events, as for unit_groups); the other buckets
-- of the window (its ragged edges and the minutes with a duplicate) it
-- reads from unit_groups and the raw table as before, so the answer stays
-- the exact distinct count. Rows, not distinct events, as in unit_groups.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.unit_groups_minute_local ON CLUSTER `prod`
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/steadystate/unit_groups_minute', '{replica}')
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, kind, synthetic, grp)
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 60) * 60) AS bucket,
    cohort,
    service,
    name,
    kind,
    synthetic,
    toUInt16(if(subject_id = '', cityHash64(concat('\x1Fevent\x1F', event_id)), cityHash64(subject_id)) % 256) AS grp,
    count() AS rows,
    countIf(is_error = 1) AS error_rows
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log') AND experiment_id != '' AND cohort != 'none'
GROUP BY experiment_id, bucket, cohort, service, name, kind, synthetic, grp;

CREATE TABLE IF NOT EXISTS steadystate.unit_groups_minute ON CLUSTER `prod` AS steadystate.unit_groups_minute_local
ENGINE = Distributed('prod', 'steadystate', 'unit_groups_minute_local');

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
CREATE TABLE IF NOT EXISTS steadystate.settle_claims_local ON CLUSTER `prod`
(
    experiment_id String,
    hour          DateTime,
    from_bucket   DateTime,
    until_bucket  DateTime,
    claimant      String,
    claimed_ns    UInt64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/steadystate/settle_claims', '{replica}')
PARTITION BY toYYYYMMDD(hour)
ORDER BY (experiment_id, hour, claimed_ns);

CREATE TABLE IF NOT EXISTS steadystate.settle_claims ON CLUSTER `prod` AS steadystate.settle_claims_local
ENGINE = Distributed('prod', 'steadystate', 'settle_claims_local', cityHash64(experiment_id));

-- The distinct events and errors of cohort_stats (0002) again, for the
-- reads that merge only those (analyze/cohort_buckets.sql: compare's and
-- live's bucket rows, the blast radius's untagged traffic), in a table
-- whose index granules hold 256 rows instead of 8192. A uniqExact state
-- holds every event's hash, and ClickHouse deserializes a whole granule
-- of states before it filters: reading one live experiment's hour (about
-- 1,400 rows) from cohort_stats took 0.5 to 1.3 s of CPU and up to 550 MB,
-- most of it for the neighbouring experiments' states in the same granules
-- (bench-main's hold about 7,000 events each), and 56 to 107 ms here
-- (10M-event bench database). Same rows, same states: the answer is the
-- same exact distinct count.
CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.cohort_counts_local ON CLUSTER `prod`
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/steadystate/cohort_counts', '{replica}')
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (experiment_id, bucket, cohort, service, name, synthetic)
SETTINGS index_granularity = 256
POPULATE
AS SELECT
    experiment_id,
    toDateTime(intDiv(toUInt32(event_time), 10) * 10) AS bucket,
    cohort,
    service,
    name,
    synthetic,
    uniqExactState(event_id) AS events,
    uniqExactIfState(event_id, is_error = 1) AS errors
FROM steadystate.events_local
WHERE kind IN ('span', 'event', 'log')
GROUP BY experiment_id, bucket, cohort, service, name, synthetic;

CREATE TABLE IF NOT EXISTS steadystate.cohort_counts ON CLUSTER `prod` AS steadystate.cohort_counts_local
ENGINE = Distributed('prod', 'steadystate', 'cohort_counts_local');

-- trace_cohorts (0010) again, cheaper per inserted row: the experiment and
-- cohort of each trace, from the events that decided it (tagged by their
-- own attributes, resource, the cohort rules or a flag evaluation; not
-- those tagged by their trace at ingest). Analysis takes the cohort of an
-- untagged span or log record from its trace here (trace_buckets.sql,
-- sli_counts_by_trace.sql, ...: every reader of trace_cohorts now reads
-- trace_cohorts_v2).
--
-- Why a new table: 0010 grouped every insert block by (experiment_id,
-- trace_id) with a String argMin state per group. Where every trace has one
-- deciding event in a block (ingest's trace cache tags the rest by their
-- trace) that GROUP BY reduces nothing and was the costliest view on the
-- insert path: ingestbench -ch-cost, 300k-row inserts, +4.2 insert CPU-s per
-- 1M events above the events table alone. This view keeps the first
-- deciding event of each trace in the block (LIMIT 1 BY: a hash set of the
-- keys, no aggregate states), about 3x cheaper there and no dearer where a
-- trace has many deciding spans in one block (measured in the commit that
-- added this file and in the ingest issue's notes). The table collapses a
-- trace's rows in merges (ReplacingMergeTree), as 0010's did; readers take
-- argMin(decided_cohort, first_seen) per trace and filter first_seen with
-- an hour's slack (query.TraceSlack), so which of a trace's deciding
-- events a row comes from, and an unmerged duplicate, change no answer
-- (the events of one trace decide one cohort).
--
-- A view TO an explicit table: the view can be replaced later without
-- moving the rows. 0023 drops trace_cohorts after this migration has copied
-- its rows here (the copy is not done with POPULATE: the views keep 400
-- days, events 30). Rows a trace gets while both views exist land twice,
-- and duplicates change nothing above.
CREATE TABLE IF NOT EXISTS steadystate.trace_cohorts_v2_local ON CLUSTER `prod`
(
    experiment_id  String,
    trace_id       String,
    decided_cohort String,
    first_seen     DateTime
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/trace_cohorts_v2', '{replica}')
PARTITION BY toYYYYMMDD(first_seen)
ORDER BY (experiment_id, trace_id);

CREATE TABLE IF NOT EXISTS steadystate.trace_cohorts_v2 ON CLUSTER `prod` AS steadystate.trace_cohorts_v2_local
ENGINE = Distributed('prod', 'steadystate', 'trace_cohorts_v2_local', cityHash64(trace_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS steadystate.trace_cohorts_v2_mv_local ON CLUSTER `prod`
TO steadystate.trace_cohorts_v2_local
AS SELECT
    experiment_id,
    trace_id,
    toString(cohort) AS decided_cohort,
    event_time AS first_seen
FROM steadystate.events_local
WHERE trace_id != '' AND experiment_id != '' AND cohort != 'none'
  AND NOT has(attr_keys, 'chaos.cohort.source')
LIMIT 1 BY experiment_id, trace_id;

-- The rows of trace_cohorts, all of them (on a cluster every shard's rows,
-- through the tables that read and write them all, spread by trace). Run
-- again after a failure it copies them again: duplicates, harmless as above.
INSERT INTO steadystate.trace_cohorts_v2 (experiment_id, trace_id, decided_cohort, first_seen)
SELECT experiment_id, trace_id, decided_cohort, first_seen
FROM steadystate.trace_cohorts;

-- trace_cohorts (0010) is replaced by trace_cohorts_v2 (0022), which holds
-- its rows and every new one; nothing reads it any more. A migration of its
-- own, after the copy: a run that stops between the two completes without
-- copying from a table already dropped.
DROP TABLE IF EXISTS steadystate.trace_cohorts ON CLUSTER `prod`;

DROP TABLE IF EXISTS steadystate.trace_cohorts_local ON CLUSTER `prod`;

-- The unit-level tallies compare reads for a settled window, computed once
-- and kept (analyze/unit_settled.sql): the 256 unit groups' events and
-- errors per cohort (unit_groups, unit_groups_minute) and the distinct
-- units per cohort in the hash slice the window calls for (unit_seen,
-- analysis.UnitSampleShift), of the ratio SLIs that count every event of
-- both cohorts (no service, operation or attribute filter, log records
-- included: the error-rate SLI of the defaults). Reading them again costs
-- about 30 ms of ClickHouse CPU at 10M events per look, and a comparison of a
-- finished run asks for the same window every time.
--
-- One row per computation (the newest wins) with what it was computed
-- from, and a reader uses it only while both still hold, so the answer
-- stays exact (query.Reader.settledUnits):
--   window_rows: the groups' raw rows of both cohorts, which the reader
--     compares with cohort_tally's raw rows of the window
--     (analyze/window_rows.sql). cohort_tally is written before the
--     unit_groups views (0006: ClickHouse pushes an insert to the views in
--     name order), so the groups' rows are always among the tally's, and
--     equal totals mean the same rows,
--   slice_rows: unit_seen's rows in the slice, which the reader reads
--     again (analyze/unit_slice_rows.sql): the slice only grows, so an
--     equal total means the same rows and the same distinct units.
-- Only windows without a decided trace (the by-trace reads add untagged
-- spans the tally does not see) and, at use, without a duplicate are
-- taken from here.
CREATE TABLE IF NOT EXISTS steadystate.unit_settled_local ON CLUSTER `prod`
(
    experiment_id    String,
    since            DateTime,
    until            DateTime,
    unit_shift       UInt8,
    window_rows      UInt64,
    slice_rows       UInt64,
    control_units    UInt64,
    experiment_units UInt64,
    cohorts          Array(String),
    grps             Array(UInt16),
    events           Array(UInt64),
    errors           Array(UInt64),
    computed_ns      UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/steadystate/unit_settled', '{replica}', computed_ns)
PARTITION BY toYYYYMMDD(since)
ORDER BY (experiment_id, since, until, unit_shift);

CREATE TABLE IF NOT EXISTS steadystate.unit_settled ON CLUSTER `prod` AS steadystate.unit_settled_local
ENGINE = Distributed('prod', 'steadystate', 'unit_settled_local', cityHash64(experiment_id));

-- cohort_counts (0021) held cohort_stats' distinct-count states again in
-- small granules for the bucket reads; those reads count the events
-- table's ids instead (analyze/cohort_buckets.sql) and nothing reads it
-- any more, while every insert still built and merged its hash sets: about
-- 0.3 CPU-s of ClickHouse per 1M events inserted (bench shape) to 0.6 (the
-- demo's shape), `ingestbench -ch-cost`.
DROP TABLE IF EXISTS steadystate.cohort_counts ON CLUSTER `prod`;

DROP TABLE IF EXISTS steadystate.cohort_counts_local ON CLUSTER `prod`;
