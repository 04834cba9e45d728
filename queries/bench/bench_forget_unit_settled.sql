-- `make bench-compare`: forget the kept unit-level tallies (unit_settled,
-- a cache; the bench's own database) before a timed cold comparison, so
-- it computes them as the first comparison of a finished run does.
TRUNCATE TABLE {{.DB}}.unit_settled
