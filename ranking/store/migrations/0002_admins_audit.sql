-- 2: admins added in the bot, confirmations waiting for a button, an audit trail
CREATE TABLE admins (
    user_id   INTEGER PRIMARY KEY,
    added_by  INTEGER NOT NULL,
    added_at  TEXT NOT NULL
);
CREATE TABLE pending_actions (
    id          TEXT PRIMARY KEY,     -- random, carried in the buttons' callback data
    kind        TEXT NOT NULL,        -- 'import' | 'undo'
    user_id     INTEGER NOT NULL,     -- only this user may press the buttons
    chat_id     INTEGER NOT NULL,
    created_at  REAL NOT NULL,        -- epoch seconds: previews expire
    file_name   TEXT,
    sha256      TEXT,
    payload     BLOB,                 -- the uploaded file, so a restart loses nothing
    aliases     TEXT,                 -- JSON [[ranking, new key, known key], ...]
    target      INTEGER,              -- undo: the version previewed
    state       TEXT NOT NULL DEFAULT 'pending'  -- pending | done | cancelled
);
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    user_id  INTEGER,
    action   TEXT NOT NULL,
    detail   TEXT
);

PRAGMA user_version = 2;
