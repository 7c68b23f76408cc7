-- 1: units, versions, slices, scores, the current-slice pointer, user settings
CREATE TABLE units (
    id        INTEGER PRIMARY KEY,
    ranking   TEXT NOT NULL,
    name      TEXT NOT NULL,          -- as first published, NFC
    name_key  TEXT NOT NULL,          -- folded + abbreviations expanded: identity
    UNIQUE (ranking, name_key)
);
CREATE TABLE unit_aliases (
    ranking   TEXT NOT NULL,
    alias_key TEXT NOT NULL,
    unit_id   INTEGER NOT NULL REFERENCES units(id),
    PRIMARY KEY (ranking, alias_key)
);
CREATE TABLE versions (
    id           INTEGER PRIMARY KEY,
    created_at   TEXT NOT NULL,
    uploaded_by  INTEGER,              -- Telegram user id; NULL for shipped data
    file_name    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    row_count    INTEGER NOT NULL,
    undone_at    TEXT,
    undone_by    INTEGER
);
CREATE INDEX versions_sha ON versions(sha256);
CREATE TABLE slices (
    version_id   INTEGER NOT NULL REFERENCES versions(id),
    ranking      TEXT NOT NULL,
    year         INTEGER NOT NULL,
    group_code   TEXT NOT NULL,
    max_score    TEXT NOT NULL,
    unit_count   INTEGER NOT NULL,    -- units ranked in the group that year
    band_scheme  TEXT,                -- NULL: this ranking has no levels
    source       TEXT NOT NULL,       -- decision number and date (most rows')
    PRIMARY KEY (version_id, ranking, year, group_code)
);
CREATE TABLE scores (
    version_id      INTEGER NOT NULL,
    ranking         TEXT NOT NULL,
    year            INTEGER NOT NULL,
    group_code      TEXT NOT NULL,
    unit_id         INTEGER NOT NULL REFERENCES units(id),
    name            TEXT NOT NULL,    -- as written in this file
    score           TEXT,             -- NULL: the source gives the rank only
    rank            INTEGER NOT NULL,
    rank_official   INTEGER NOT NULL, -- 1: from the source; 0: computed from scores
    published_level TEXT,             -- verbatim, may disagree with the score
    note            TEXT,
    components      TEXT,             -- JSON {column: "decimal"}
    source          TEXT NOT NULL,    -- this row's source; usually the slice's
    source_row      INTEGER,
    PRIMARY KEY (version_id, ranking, year, group_code, unit_id),
    FOREIGN KEY (version_id, ranking, year, group_code)
        REFERENCES slices(version_id, ranking, year, group_code)
);
CREATE INDEX scores_by_rank ON scores(version_id, ranking, year, group_code, rank);
CREATE INDEX scores_by_unit ON scores(unit_id);
CREATE TABLE current_slices (
    ranking     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    group_code  TEXT NOT NULL,
    version_id  INTEGER NOT NULL REFERENCES versions(id),
    PRIMARY KEY (ranking, year, group_code)
);
CREATE TABLE user_settings (
    user_id   INTEGER PRIMARY KEY,
    language  TEXT NOT NULL
);

PRAGMA user_version = 1;
