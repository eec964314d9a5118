-- The chat world: accounts, friendships, groups, conversations, messages, read cursors.
-- Written once for SQLite and PostgreSQL: only portable types and syntax.

CREATE TABLE accounts (
    uin         BIGINT PRIMARY KEY,
    nickname    TEXT    NOT NULL,
    is_bot      INTEGER NOT NULL DEFAULT 0,
    sex         TEXT    NOT NULL DEFAULT 'unknown',
    age         INTEGER NOT NULL DEFAULT 0,
    sign        TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL
);

CREATE TABLE friend_categories (
    owner_uin    BIGINT  NOT NULL REFERENCES accounts(uin),
    category_id  INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    sort_id      INTEGER NOT NULL,
    PRIMARY KEY (owner_uin, category_id)
);

-- One row per direction: each side keeps its own remark and category.
CREATE TABLE friendships (
    owner_uin    BIGINT  NOT NULL REFERENCES accounts(uin),
    friend_uin   BIGINT  NOT NULL REFERENCES accounts(uin),
    remark       TEXT    NOT NULL DEFAULT '',
    category_id  INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (owner_uin, friend_uin)
);

CREATE TABLE groups (
    group_id          BIGINT  PRIMARY KEY,
    name              TEXT    NOT NULL,
    owner_uin         BIGINT  NOT NULL REFERENCES accounts(uin),
    max_member_count  INTEGER NOT NULL DEFAULT 200,
    whole_ban         INTEGER NOT NULL DEFAULT 0,
    created_at        BIGINT  NOT NULL
);

CREATE TABLE group_members (
    group_id        BIGINT  NOT NULL REFERENCES groups(group_id),
    uin             BIGINT  NOT NULL REFERENCES accounts(uin),
    role            TEXT    NOT NULL DEFAULT 'member',
    card            TEXT    NOT NULL DEFAULT '',
    title           TEXT    NOT NULL DEFAULT '',
    join_time       BIGINT  NOT NULL,
    last_sent_time  BIGINT  NOT NULL DEFAULT 0,
    shut_up_until   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, uin)
);
CREATE INDEX group_members_by_uin ON group_members (uin, group_id);

-- A conversation is a private pair (user_a < user_b) or a group. It carries its last visible
-- message so that recent contacts never scan the messages table.
CREATE TABLE conversations (
    conv_id        BIGINT  PRIMARY KEY,         -- allocated by the store
    kind           INTEGER NOT NULL,            -- 1 private pair, 2 group
    group_id       BIGINT,                      -- the group, for kind 2
    user_a         BIGINT,                      -- the pair, for kind 1
    user_b         BIGINT,
    chat_type      INTEGER NOT NULL,            -- NT chatType of the last message: 1, 2 or 100
    temp_group_id  BIGINT,                      -- source group of a temp chat (chat_type 100)
    last_seq       BIGINT  NOT NULL DEFAULT 0,  -- highest seq handed out in this conversation
    last_msg_id    BIGINT,                      -- last message not recalled, or NULL
    last_time      BIGINT  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX conversations_group ON conversations (group_id) WHERE kind = 2;
CREATE UNIQUE INDEX conversations_pair ON conversations (user_a, user_b) WHERE kind = 1;

-- Each participant's view of a conversation: read cursor and pin flag.
CREATE TABLE conversation_members (
    uin       BIGINT  NOT NULL REFERENCES accounts(uin),
    conv_id   BIGINT  NOT NULL REFERENCES conversations(conv_id),
    read_seq  BIGINT  NOT NULL DEFAULT 0,
    pinned    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (uin, conv_id)
);
CREATE INDEX conversation_members_by_conv ON conversation_members (conv_id);

CREATE TABLE messages (
    message_id     BIGINT  PRIMARY KEY,          -- OneBot message_id: non-negative int32, allocated by the store
    nt_msg_id      BIGINT  NOT NULL UNIQUE,      -- NT-style 64-bit msgId
    conv_id        BIGINT  NOT NULL REFERENCES conversations(conv_id),
    seq            BIGINT  NOT NULL,             -- per-conversation real_seq
    sender_uin     BIGINT  NOT NULL REFERENCES accounts(uin),
    chat_type      INTEGER NOT NULL,
    temp_group_id  BIGINT,
    time           BIGINT  NOT NULL,
    segments       TEXT    NOT NULL,             -- canonical segment array, JSON
    raw_message    TEXT    NOT NULL,
    recalled_at    BIGINT,
    recalled_by    BIGINT,
    UNIQUE (conv_id, seq)
);

-- PostgreSQL only (everything above is the shared 0001_world.sql verbatim; a test checks it):
-- ids come from sequences so that several processes never hand out the same one, where SQLite's
-- single writer takes MAX + 1 (catnest/store/ids.py, which also enforces the int32 bound).
CREATE SEQUENCE message_ids;
CREATE SEQUENCE conversation_ids;
