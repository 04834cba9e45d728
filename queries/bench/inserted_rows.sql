-- The rows the server has inserted since it started, into any table
-- (system.events InsertedRows; absent, 0, before the first insert):
-- ingestbench's latency probe reads which probes are visible only after
-- this moved, as rows become visible only by an insert. 0.97 ms of 18.16's
-- CPU (0.76 for SELECT 1, 1.7 for the active rows of one table from
-- system.parts) against 2.5 ms for the probe's names query reading 20k
-- rows (median of 20 interleaved runs each, 2026-11-30).
SELECT toUInt64(sum(value)) FROM system.events WHERE event = 'InsertedRows'
