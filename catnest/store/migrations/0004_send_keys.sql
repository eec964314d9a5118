-- Idempotent sends: a client-chosen key per sender remembers the message it produced, so a
-- retried request (after a timeout, a dropped connection or a restart) never posts twice.

CREATE TABLE send_keys (
    sender      BIGINT  NOT NULL REFERENCES accounts(uin),
    send_key    TEXT    NOT NULL,
    message_id  BIGINT  NOT NULL REFERENCES messages(message_id),
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (sender, send_key)
);
