-- The parts a run wrote into a database (active and not yet removed
-- inactive ones), with their merge level.
SELECT table, level FROM system.parts WHERE database = @database
