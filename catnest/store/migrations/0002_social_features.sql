-- Requests, reactions, essence messages, merged forwards, profile likes and group blocklists.

CREATE TABLE friend_requests (
    flag        TEXT    PRIMARY KEY,
    requester   BIGINT  NOT NULL REFERENCES accounts(uin),
    target      BIGINT  NOT NULL REFERENCES accounts(uin),
    comment     TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL DEFAULT 'pending',   -- pending, approved, rejected
    created_at  BIGINT  NOT NULL
);
CREATE INDEX friend_requests_by_target ON friend_requests (target, state);

CREATE TABLE group_requests (
    flag        TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,                     -- add (user asks to join), invite
    group_id    BIGINT  NOT NULL REFERENCES groups(group_id),
    user_id     BIGINT  NOT NULL REFERENCES accounts(uin),  -- who joins
    inviter     BIGINT,                               -- who invited, for kind = invite
    comment     TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL DEFAULT 'pending',
    created_at  BIGINT  NOT NULL
);
CREATE INDEX group_requests_by_group ON group_requests (group_id, state);

CREATE TABLE reactions (
    message_id  BIGINT  NOT NULL REFERENCES messages(message_id),
    emoji_id    TEXT    NOT NULL,
    uin         BIGINT  NOT NULL REFERENCES accounts(uin),
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (message_id, emoji_id, uin)
);

CREATE TABLE essence_messages (
    message_id  BIGINT  PRIMARY KEY REFERENCES messages(message_id),
    group_id    BIGINT  NOT NULL REFERENCES groups(group_id),
    operator    BIGINT  NOT NULL REFERENCES accounts(uin),
    created_at  BIGINT  NOT NULL
);
CREATE INDEX essence_by_group ON essence_messages (group_id, created_at);

-- A merged-forward bundle: the nodes as canonical JSON, referred to by forward segments.
CREATE TABLE forwards (
    res_id      TEXT    PRIMARY KEY,
    owner       BIGINT  NOT NULL REFERENCES accounts(uin),
    nodes       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE profile_likes (
    target      BIGINT  NOT NULL REFERENCES accounts(uin),
    liker       BIGINT  NOT NULL REFERENCES accounts(uin),
    day         INTEGER NOT NULL,                     -- days since the Unix epoch (UTC)
    times       INTEGER NOT NULL,
    PRIMARY KEY (target, liker, day)
);

-- Members kicked with reject_add_request may not ask to join again.
CREATE TABLE group_blocklist (
    group_id    BIGINT  NOT NULL REFERENCES groups(group_id),
    uin         BIGINT  NOT NULL REFERENCES accounts(uin),
    PRIMARY KEY (group_id, uin)
);
