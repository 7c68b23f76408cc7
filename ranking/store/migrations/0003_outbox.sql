-- 3: group announcements: who follows what, what was announced, a durable outbox
CREATE TABLE subscriptions (
    chat_id        INTEGER PRIMARY KEY,  -- a group, supergroup or a person's private chat
    chat_type      TEXT NOT NULL,
    groups         TEXT,                 -- JSON list of group codes; NULL: every group
    subscribed_by  INTEGER,
    created_at     TEXT NOT NULL
);
CREATE TABLE announcements (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,           -- 'version' | 'text'
    version_id  INTEGER UNIQUE,          -- one announcement per imported version
    text_html   TEXT,                    -- 'text': the message; 'version': the fallback
    created_by  INTEGER,
    created_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'queued'  -- draft | queued | cancelled
);
CREATE TABLE deliveries (
    announcement_id  INTEGER NOT NULL REFERENCES announcements(id),
    chat_id          INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending',
        -- pending | sending | sent | uncertain | failed | unreachable
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    updated_at       TEXT NOT NULL,
    message_id       INTEGER,
    text_html        TEXT,               -- per-chat text; NULL: the announcement's
    PRIMARY KEY (announcement_id, chat_id)
);
CREATE INDEX deliveries_by_state ON deliveries(state, announcement_id, chat_id);

PRAGMA user_version = 3;
