-- 6: intentionally empty. This number was held for a change that was later
-- numbered 8; stores that already ran it keep it, so it stays a no-op: migrations
-- are numbered without a gap, and a store's user_version says how many ran.

PRAGMA user_version = 6;
