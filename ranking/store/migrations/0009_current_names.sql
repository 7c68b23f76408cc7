-- 9: each unit's current name, kept by every import and undo in their transaction.
-- The unit index (ranking.lookup) names a unit as its row in its latest current
-- year wrote it; finding that from the scores means reading every current score
-- row and sorting them by unit (2.3 s at 1M rows, on the first query after each
-- import). Here it is one row per unit that has a current row, read in one pass.
-- Of several current rows in the latest year (two groups), the first group code's.
CREATE TABLE current_names (
    unit_id   INTEGER PRIMARY KEY REFERENCES units(id),
    ranking   TEXT NOT NULL,
    name      TEXT NOT NULL,     -- as written in that row
    year      INTEGER NOT NULL   -- the row's year: the unit's latest current one
);

-- Filled from the rows already there, as an import would have kept it.
INSERT INTO current_names (unit_id, ranking, name, year)
SELECT unit_id, ranking, name, year
FROM (
    SELECT x.unit_id, x.ranking, x.name, x.year,
           ROW_NUMBER() OVER (PARTITION BY x.unit_id ORDER BY x.year DESC, x.group_code)
               AS nth
    FROM scores x
    JOIN current_slices c ON c.version_id = x.version_id AND c.ranking = x.ranking
         AND c.year = x.year AND c.group_code = x.group_code
)
WHERE nth = 1;

PRAGMA user_version = 9;
