-- 5: rankings that change shape over the years.
-- Groups an upload created (a group the catalog does not name: «Xã, phường» in 2025);
-- they belong to the version that created them, so undoing it removes them.
CREATE TABLE groups (
    code        TEXT PRIMARY KEY,
    ranking     TEXT NOT NULL,
    name_vi     TEXT NOT NULL,        -- as the file wrote it
    name_en     TEXT NOT NULL,
    short_vi    TEXT NOT NULL,
    short_en    TEXT NOT NULL,
    aliases     TEXT NOT NULL,        -- JSON list of folded aliases
    version_id  INTEGER NOT NULL REFERENCES versions(id)
);

-- A share of the maximum as published ("71.77" for 71,77 %): some results are
-- published only as a percentage; NULL when the source gave none.
ALTER TABLE scores ADD COLUMN share TEXT;

-- Unit lineage: one row per old unit → new unit from a date (merges, splits and
-- renames are all rows; an unchanged unit may map to itself). From a reorganisation
-- file, versioned like scores.
CREATE TABLE lineage (
    version_id   INTEGER NOT NULL REFERENCES versions(id),
    ranking      TEXT NOT NULL,
    from_date    TEXT NOT NULL,       -- ISO date the change took effect
    old_unit_id  INTEGER NOT NULL REFERENCES units(id),
    new_unit_id  INTEGER NOT NULL REFERENCES units(id),
    source       TEXT NOT NULL,
    source_row   INTEGER,
    PRIMARY KEY (version_id, ranking, old_unit_id, new_unit_id)
);
CREATE INDEX lineage_by_old ON lineage(old_unit_id);
CREATE INDEX lineage_by_new ON lineage(new_unit_id);

-- The content of a version, canonical (ranking.importer.content_digest): the same
-- sheet re-saved, or saved in another format, has other bytes and the same content,
-- and publishing it again is a no-op.
ALTER TABLE versions ADD COLUMN content_digest TEXT;
CREATE INDEX versions_content ON versions(content_digest);

PRAGMA user_version = 5;
