-- 10: a unit's score rows in the index by year (newest first), then group code.
-- Every import and undo finds again the current name of each unit it touches: the
-- first of its current rows by year (newest) and group code (scores._refresh_names).
-- With the index on unit_id alone SQLite read all of a unit's rows and sorted them,
-- unit by unit (39 ms for the 3,000 units of a 30,000-row file); in this order it
-- stops at the first current row (7 ms). Lookups by unit_id alone use it as before.
DROP INDEX scores_by_unit;
CREATE INDEX scores_by_unit ON scores(unit_id, year DESC, group_code);

PRAGMA user_version = 10;
