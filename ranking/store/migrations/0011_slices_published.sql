-- 11: each slice's count of score rows, kept with the slice. The current slices were
-- read with a COUNT over the scores' index for each one (scores.CURRENT_SLICES), so the
-- first answer after opening a store of 1M rows read that whole index: 0.16 s with the
-- file in the page cache, 2 s without. A version's rows never change once written
-- (an import writes a slice and its rows in one transaction; nothing updates or
-- deletes them), so the count is the slice's own, written with it from now on.
ALTER TABLE slices ADD COLUMN published INTEGER NOT NULL DEFAULT 0;
UPDATE slices SET published = (
    SELECT COUNT(*) FROM scores x
    WHERE x.version_id = slices.version_id AND x.ranking = slices.ranking
      AND x.year = slices.year AND x.group_code = slices.group_code
);

PRAGMA user_version = 11;
