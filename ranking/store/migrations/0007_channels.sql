-- 7: a second channel (Zalo) beside Telegram. A subscription and a delivery name
-- their channel, and a chat id may be text: Zalo's ids are strings
-- ("7a1c0e5b9d3f2a4c6e80"), Telegram's are integers.
--
-- SQLite cannot change a column's type or a primary key in place, so both tables
-- are rebuilt and every row copied; the rows there are Telegram's. `chat_id` (and a
-- delivery's `message_id`) are declared without a type on purpose: such a column
-- keeps each value as written (no type affinity), so Telegram's ids stay INTEGER,
-- which its code compares and signs (a group's id is negative), and Zalo's stay
-- TEXT even when one is all digits (an INTEGER column would turn "0042" into 42).
-- An integer never equals a text in SQLite, so a Telegram id and a Zalo id cannot
-- be mistaken for each other even before `channel` is compared.

CREATE TABLE subscriptions_v7 (
    channel        TEXT NOT NULL DEFAULT 'telegram',  -- 'telegram' | 'zalo'
    chat_id        NOT NULL,             -- Telegram: INTEGER; Zalo: TEXT (no affinity)
    chat_type      TEXT NOT NULL,
    groups         TEXT,                 -- JSON list of group codes; NULL: every group
    subscribed_by  INTEGER,              -- a Telegram user id; NULL on Zalo (see audit_log)
    created_at     TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
INSERT INTO subscriptions_v7 (channel, chat_id, chat_type, groups, subscribed_by, created_at)
SELECT 'telegram', chat_id, chat_type, groups, subscribed_by, created_at FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_v7 RENAME TO subscriptions;

CREATE TABLE deliveries_v7 (
    announcement_id  INTEGER NOT NULL REFERENCES announcements(id),
    channel          TEXT NOT NULL DEFAULT 'telegram',
    chat_id          NOT NULL,           -- as in subscriptions
    state            TEXT NOT NULL DEFAULT 'pending',
        -- pending | sending | sent | uncertain | failed | unreachable
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    updated_at       TEXT NOT NULL,
    message_id,                          -- Telegram: INTEGER; Zalo: TEXT
    text_html        TEXT,               -- per-chat text; NULL: the announcement's
    PRIMARY KEY (announcement_id, channel, chat_id)
);
INSERT INTO deliveries_v7 (announcement_id, channel, chat_id, state, attempts, last_error,
                           updated_at, message_id, text_html)
SELECT announcement_id, 'telegram', chat_id, state, attempts, last_error, updated_at,
       message_id, text_html
FROM deliveries;
DROP INDEX deliveries_by_state;
DROP TABLE deliveries;
ALTER TABLE deliveries_v7 RENAME TO deliveries;
-- each channel's worker reads its own pending rows, oldest announcement first
CREATE INDEX deliveries_by_state ON deliveries(channel, state, announcement_id, chat_id);

-- A language chosen on a channel whose user ids are text (Zalo's /ngonngu);
-- Telegram's choices stay in user_settings, keyed by its integer ids.
CREATE TABLE channel_languages (
    channel   TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    language  TEXT NOT NULL,
    PRIMARY KEY (channel, user_id)
);

PRAGMA user_version = 7;
