-- Merges running on the server, in one database or (@database '') all:
-- the benchmarks wait for none before they time anything.
SELECT count() FROM system.merges WHERE @database = '' OR database = @database
