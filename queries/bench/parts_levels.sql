-- ingestbench -ch-cost: the parts inserts wrote into a database (level 0,
-- active or already merged away but not yet removed) and the active parts
-- merges produced (level > 0) with the rows those hold.
SELECT
    toUInt64(countIf(level = 0)) AS inserted,
    toUInt64(countIf(level > 0 AND active)) AS merged,
    toUInt64(sumIf(rows, level > 0 AND active)) AS merged_rows
FROM system.parts WHERE database = @database
