-- Which messages carry which merged-forward bundles, so that "may this account open bundle X"
-- is one indexed query instead of a search of messages for X's CQ code. Written in the same
-- transaction as the carrier message, for every message with a forward segment: the one that
-- sent the bundle and every later re-share, by anyone. Rows stay when a carrier is recalled
-- (the query skips recalled carriers), like the message rows they point at.

CREATE TABLE forward_carriers (
    res_id      TEXT    NOT NULL REFERENCES forwards(res_id),
    message_id  BIGINT  NOT NULL REFERENCES messages(message_id),
    PRIMARY KEY (res_id, message_id)
);
CREATE INDEX forward_carriers_by_message ON forward_carriers (message_id);

-- Backfill the carriers stored before this table existed. No released database holds any
-- (0002 ships in this same, unreleased version), so only a development database can; it is
-- still done, in SQL that SQLite and PostgreSQL both run, so that such a database keeps
-- working and the migration needs no per-dialect variant and no Python step.
--
-- A forward segment is encoded `[CQ:forward,id=<res_id>]`, and text never holds `[` unescaped,
-- so that string appears in a raw_message only where a forward segment is. Neither dialect's
-- substring search (instr / strpos) exists in the other, and substr is slow far into a long
-- text, so: the usual carrier, exactly one forward segment (48 characters: every res_id is
-- 32, see new_res_id), yields its res_id by position; any other carrier is matched against
-- each bundle with replace(), which is exact (LIKE would take `_` in a res_id as a wildcard,
-- and SQLite's ignores case). That costs carriers x bundles, fine for development databases.
INSERT INTO forward_carriers (res_id, message_id)
SELECT f.res_id, msg.message_id
FROM messages msg
JOIN forwards f ON f.res_id = substr(msg.raw_message, 16, 32)
WHERE length(msg.raw_message) = 48
  AND substr(msg.raw_message, 1, 15) = '[CQ:forward,id='
  AND substr(msg.raw_message, 48, 1) = ']';

INSERT INTO forward_carriers (res_id, message_id)
SELECT f.res_id, msg.message_id
FROM messages msg
JOIN forwards f
  ON replace(msg.raw_message, '[CQ:forward,id=' || f.res_id || ']', '') <> msg.raw_message
WHERE length(msg.raw_message) <> 48
  AND msg.raw_message LIKE '%[CQ:forward,id=%';
