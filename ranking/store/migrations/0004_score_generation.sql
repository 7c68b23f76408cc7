-- 4: a counter of score-data changes. Caches of the current slices and the unit
-- index compare it to know whether to rebuild: it changes with every import and
-- undo (from any process, in the same transaction) and with nothing else, unlike
-- PRAGMA data_version, which changes with every write (a language choice, an
-- audit line, each delivery of a broadcast).
CREATE TABLE score_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),  -- exactly one row
    generation  INTEGER NOT NULL
);
INSERT INTO score_generation (id, generation) VALUES (1, 0);

PRAGMA user_version = 4;
