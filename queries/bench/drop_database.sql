-- Drops a benchmark's database (the benchmarks create their own).
DROP DATABASE IF EXISTS {{.DB}}
