-- The registry's own secret keys (see migrations/0009_server_keys.sql):
-- `token-signing` and `token-password`, shared by every replica.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY NOT NULL,
    key BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
