-- `make bench-compare`: background merges still running in the database
-- (timings start once the load settled).
SELECT count() FROM system.merges WHERE database = @database
