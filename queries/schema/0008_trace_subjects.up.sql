-- The subject (randomization unit) of each trace decided for an
-- experiment: the subject of its earliest tagged event that has one. A span
-- or log record whose cohort comes from its trace in ClickHouse
-- (trace_cohorts) and that carries no subject of its own belongs to its
-- trace's unit (analyze/sli_unit_tally.sql, sli_unit_counts.sql): a
-- payment span of a user's checkout counts for that user. Readers take
-- argMin by first_seen, so an unmerged duplicate changes nothing.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "trace_subjects"}}{{.OnCluster}}
ENGINE = {{engine "trace_subjects" "ReplacingMergeTree" ""}}
PARTITION BY toYYYYMMDD(first_seen)
ORDER BY (experiment_id, trace_id)
AS SELECT
    experiment_id,
    trace_id,
    argMin(subject_id, event_time_ns) AS subject,
    min(event_time) AS first_seen
FROM {{.Local "events"}}
WHERE trace_id != '' AND experiment_id != '' AND cohort != 'none' AND subject_id != ''
GROUP BY experiment_id, trace_id
{{.Distributed "trace_subjects" ""}}
