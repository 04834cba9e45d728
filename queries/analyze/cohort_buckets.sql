-- Distinct events and distinct errors per 10-second bucket, cohort, service
-- and operation over [since_s, until_s), counted on the events table.
-- Compare and live sum the rows that match each SLI's filter, the cohort
-- sizes for the sample-ratio check and, with @untagged_id = '', the
-- untagged traffic for the blast radius (pass the experiment id again to
-- leave it out). Synthetic traffic never counts. Per-bucket rows let live
-- cache buckets that have settled and re-read only the recent ones;
-- Store.Buckets reads it only for buckets whose cached counts
-- (cohort_settled.sql) are stale.
-- The same rows, key and filters as the cohort view (0002 cohort_stats:
-- the bucket of event_time, kinds span, event and log), and the same
-- count of distinct event ids (up to a hash collision, below): the view
-- holds uniqExact states of the events table's rows, and merging states
-- counts what one uniqExact over the rows counts.
-- Why the events table and not those states (in cohort_counts, 0021, the
-- same states in small granules, dropped by 0028; 18.16, the 10M-event
-- bench database, the server's CPU per query, load 1-2.5): a live experiment's hour
-- (225k events, 1,444 keys) 54-64 ms from the table against 59-65 ms from
-- the states alone, but with 20 such reads at once (the watchers' cold
-- start) 1.28-1.47 s against 3.71-4.39 s: deserializing the states' hash
-- sets is mostly system time (page faults, 2.7-3.3 s of it), which the
-- readers pay in turn. A 30-second tail 10-12 ms against 74-128 ms (the
-- states of the neighbouring keys in the granules), and bench-main's hour
-- with its untagged traffic (10.5M rows) 2.2-2.4 s against 3.4-4.1 s.
-- Distinct ids are counted by their 64-bit cityHash64, not the string
-- (which uniqExact hashes to 128 bits with SipHash): 20 such reads at
-- once, one per live experiment's hour (18.16, four rounds), 1432-1712 ->
-- 1159-1327 ms of the server's CPU, one alone 73 -> 51-64 ms. Two ids of
-- one bucket and key collide with odds about n^2 / 2^65 (1e-12 at 10k
-- events); a collision counts one event less, which the tally's raw rows
-- then show as a duplicate, so that bucket's unit rows are counted on the
-- raw table (sli_unit_rows_dirty.sql), by the strings.
-- The range is the buckets' (bucket >= @since_s and bucket < @until_s, as
-- the tally reads it): event times from the first bucket start at or after
-- @since_s to the first at or after @until_s.
-- The tally is read first (cohort_tally.sql); an insert writes the events
-- table before its views (18.16 and current servers alike), so every row
-- the tally counted is in the table when this reads it, and a count is
-- never cached at a row count it has not seen.
-- Grouped by the 64-bit cityHash64 of (experiment, service, operation)
-- beside the bucket and the cohort, and answered by that hash: fixed-width
-- keys hash faster than the three strings serialized per row, and the
-- strings are not carried through the aggregation. The reader names each
-- row by the tally's keys, which it read first (query.Reader.staleBuckets
-- hashes them the same way; a key the tally has not seen is not in the
-- answer it builds either). No ORDER BY: the reader keys the rows. One
-- experiment's hour (bench-live-19, 237k rows, 18.16, nine interleaved
-- runs) 63 ms of the server's CPU grouped by the strings, 52 with the
-- hash and the strings taken with any(), 38 by the hash alone; the same
-- 1,440 counts. Two keys of one bucket and cohort share a hash with odds
-- about k^2 / 2^65 for k keys (1e-17 at a hundred).
-- crosscheck: unordered
SELECT
    bucket_s,
    toString(cohort) AS cohort,
    key_hash,
    toUInt64(uniqExact(cityHash64(event_id))) AS events,
    toUInt64(uniqExactIf(cityHash64(event_id), is_error = 1)) AS errors
FROM {{.DB}}.events
WHERE experiment_id IN (@experiment_id, @untagged_id)
  AND event_time >= toDateTime(intDiv(@since_s + 9, 10) * 10)
  AND event_time < toDateTime(intDiv(@until_s + 9, 10) * 10)
  AND synthetic = 0
  AND kind IN ('span', 'event', 'log')
GROUP BY
    toUInt32(intDiv(toUInt32(event_time), 10) * 10) AS bucket_s,
    cohort,
    cityHash64(experiment_id, service, name) AS key_hash
