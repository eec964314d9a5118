-- One row, locked first by every write transaction of every Catnest process on this world
-- (UPDATE ... RETURNING): writes are serialised world-wide like SQLite's, so a transaction
-- that reads, decides, then writes (next real_seq, idempotency keys, event order) never races
-- another process. The counter it bumps is the change token response caches are keyed by.

CREATE TABLE world_write_lock (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  BIGINT  NOT NULL
);

INSERT INTO world_write_lock (id, version) VALUES (1, 0);
