-- 8: a version's announcement is written in the version's own transaction (issue #18).
--
-- From now on the publish transaction inserts the announcement as 'preparing' with
-- one pending delivery per subscriber (of every channel) who follows one of its
-- groups; the text is rendered once the version is visible, which sets it 'queued'.
-- Start-up renders any announcement still 'preparing' (a crash between the two).
-- Only 'queued' announcements are sent.
--
-- `corrects`: a short correction sent to the chats that got an announcement later
-- retracted (its version undone, or replaced mid-broadcast); its deliveries are the
-- chats the retracted one reached, and the retracted one is set 'retracted' with its
-- pending deliveries 'cancelled'.
ALTER TABLE announcements ADD COLUMN corrects INTEGER REFERENCES announcements(id);

-- Before this, a crash between a version's commit and its announcement lost the
-- announcement for good. An admin's upload (uploaded_by set) that is live, still has
-- current results and has no announcement gets one now, to the current subscribers.
-- The shipped data sets (uploaded_by NULL) were never announced and are not now; a
-- CLI import also has no uploader on record and cannot be told from them.
INSERT INTO announcements (kind, version_id, text_html, created_by, created_at, state)
SELECT 'version', v.id, NULL, v.uploaded_by, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'),
       'preparing'
FROM versions v
WHERE v.undone_at IS NULL
  AND v.uploaded_by IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM announcements a WHERE a.version_id = v.id)
  AND EXISTS (SELECT 1 FROM current_slices c WHERE c.version_id = v.id);

INSERT INTO deliveries (announcement_id, channel, chat_id, state, updated_at)
SELECT a.id, s.channel, s.chat_id, 'pending', a.created_at
FROM announcements a
JOIN subscriptions s
WHERE a.state = 'preparing'
  AND (s.groups IS NULL
       OR EXISTS (SELECT 1 FROM json_each(s.groups) j
                  JOIN slices sl ON sl.version_id = a.version_id AND sl.group_code = j.value));

PRAGMA user_version = 8;
