-- Drops a database with everything in it (benchmarks and tests clean up
-- their own databases; never run it on one you did not create).
DROP DATABASE IF EXISTS {{.DB}}{{.OnCluster}}
