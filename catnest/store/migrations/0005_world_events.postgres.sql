-- Events shared between Catnest processes on one PostgreSQL world (SharedHub). Ids come from
-- a sequence; writers take an advisory lock before drawing one (store/events.py), so ids are
-- handed out in commit order and a follower never skips an id that commits late.

CREATE SEQUENCE world_event_ids;

CREATE TABLE world_events (
    event_id    BIGINT  PRIMARY KEY,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
