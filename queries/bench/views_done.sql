-- Whether the last view an insert into events feeds holds that insert's
-- rows: ClickHouse pushes a block to the views in the order of their
-- names, after the events table's part, so events are visible before the
-- views are written. unit_tally sorts last (also after the Kafka
-- baseline's kafka_mv and view copies) and counts every raw row of an
-- experiment's spans, events and logs; the benchmarks count a run done
-- only once it is stored in every table a query reads.
SELECT toUInt64(
    (SELECT sum(rows) FROM {{.DB}}.unit_tally)
    = (SELECT countIf(experiment_id != '' AND kind IN ('span', 'event', 'log')) FROM {{.DB}}.events))
