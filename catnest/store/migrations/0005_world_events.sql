-- Events shared between Catnest processes on one PostgreSQL world (SharedHub). A SQLite
-- world has one process and never writes here; the table exists so both stores share one
-- schema version.

CREATE TABLE world_events (
    event_id    BIGINT  PRIMARY KEY,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
