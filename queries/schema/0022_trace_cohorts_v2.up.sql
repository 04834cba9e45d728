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
CREATE TABLE IF NOT EXISTS {{.Local "trace_cohorts_v2"}}{{.OnCluster}}
(
    experiment_id  String,
    trace_id       String,
    decided_cohort String,
    first_seen     DateTime
)
ENGINE = {{engine "trace_cohorts_v2" "ReplacingMergeTree" ""}}
PARTITION BY toYYYYMMDD(first_seen)
ORDER BY (experiment_id, trace_id)
{{.Distributed "trace_cohorts_v2" "cityHash64(trace_id)"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "trace_cohorts_v2_mv"}}{{.OnCluster}}
TO {{.Local "trace_cohorts_v2"}}
AS SELECT
    experiment_id,
    trace_id,
    toString(cohort) AS decided_cohort,
    event_time AS first_seen
FROM {{.Local "events"}}
WHERE trace_id != '' AND experiment_id != '' AND cohort != 'none'
  AND NOT has(attr_keys, 'chaos.cohort.source')
LIMIT 1 BY experiment_id, trace_id;

-- The rows of trace_cohorts, all of them (on a cluster every shard's rows,
-- through the tables that read and write them all, spread by trace). Run
-- again after a failure it copies them again: duplicates, harmless as above.
INSERT INTO {{.DB}}.trace_cohorts_v2 (experiment_id, trace_id, decided_cohort, first_seen)
SELECT experiment_id, trace_id, decided_cohort, first_seen
FROM {{.DB}}.trace_cohorts
