-- `make bench-compare`: drop the benchmark's own database before a load.
DROP DATABASE IF EXISTS {{.DB}}
