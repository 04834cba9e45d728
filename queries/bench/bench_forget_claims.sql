-- `make bench-compare` cold start, beside bench_forget_settled.sql: forget
-- the claims on computing settled counts too (the bench's own database).
-- A claim says its reader computes and caches those buckets; with the
-- cache emptied after it cached them, a claim still fresh (a cold start
-- run again within claimFresh of the last, or a compare that found the
-- untagged counts uncached) would have every watcher wait 15 s for counts
-- nobody computes again, then compute them all itself: not a database
-- nobody has looked at.
TRUNCATE TABLE {{.DB}}.settle_claims
