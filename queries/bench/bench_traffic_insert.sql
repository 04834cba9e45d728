-- `make bench-compare`'s watchers under traffic (internal/bench/comparebench,
-- traffic.go): events @from_i .. @from_i + @count - 1 of each of
-- @experiments experiments named @prefix01, @prefix02, ..., event i at
-- @start_ns + i * @step_ns, in one statement for all of them (as a sink
-- inserts a batch of every experiment's events: one insert, one part per
-- table, not one per experiment). The same shapes as
-- bench_events_insert.sql: users (subject_id) send about five requests
-- each over @users_of events, a user's cohort is fixed (10% experiment),
-- errors 1% (control) and 1.5% (experiment), durations log-normal around
-- 40 ms (control) and 44 ms (experiment); one event in 10 is untagged (the
-- blast radius), one in 7 is the payment service's.
INSERT INTO {{.DB}}.events (event_id, event_time, event_time_ns, ingest_time, ingest_time_ns, kind, service, name,
    experiment_id, cohort, synthetic, status, is_error, http_status, duration_ns, subject_id, attr_keys, attr_values)
SELECT
    concat(xid, '-', toString(i)) AS event_id,
    toDateTime(intDiv(t_ns, 1000000000)) AS event_time,
    t_ns AS event_time_ns,
    toDateTime(intDiv(t_ns, 1000000000)) AS ingest_time,
    t_ns AS ingest_time_ns,
    'span' AS kind,
    if(i % 7 = 0, 'payment', 'checkout') AS service,
    if(i % 7 = 0, 'POST /pay', 'GET /checkout') AS name,
    if(untagged, '', xid) AS experiment_id,
    if(untagged, 'none', if(is_exp, 'experiment', 'control')) AS cohort,
    0 AS synthetic,
    if(err, 'error', 'ok') AS status,
    err AS is_error,
    if(err, 500, 200) AS http_status,
    toUInt64(exp(if(is_exp, 3.784, 3.689) + 0.4 * u) * 1000000) AS duration_ns,
    concat('user-', toString(user)) AS subject_id,
    ['region'] AS attr_keys,
    [if(i % 2 = 0, 'eu', 'us')] AS attr_values
FROM
(
    SELECT
        toUInt64(number % @experiments + 1) AS e,
        concat(@prefix, if(e < 10, '0', ''), toString(e)) AS xid,
        toUInt64(intDiv(number, @experiments) + @from_i) AS i,
        toUInt64(@start_ns + i * @step_ns) AS t_ns,
        intHash64(i + 4) % greatest(intDiv(@users_of, 5), 1) AS user,
        intHash64(i) % 10 = 0 AS untagged,
        intHash64(user + 1) % 100 < 10 AS is_exp,
        toUInt8((intHash64(i + 2) % 10000) < if(is_exp, 150, 100)) AS err,
        (toFloat64(intHash64(i + 3) % 1000000) / 1000000 - 0.5) * 3.4 AS u
    FROM system.numbers LIMIT @rows
)
