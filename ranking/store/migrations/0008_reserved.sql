-- 8: reserved for the migration another change adds concurrently (the outbox and
-- announcements, issue #18). This file only keeps the numbers without a gap on a
-- branch that does not have it yet; when both are merged, that migration takes
-- this number and this file goes. Two files numbered 8 make the store refuse to
-- open (migrations must be numbered without a gap or a repeat), so it cannot be
-- forgotten silently.

PRAGMA user_version = 8;
