-- The registry's own secret keys: the key that signs bearer and refresh
-- tokens (`token-signing`) and the key of token-password digests
-- (`token-password`). Kept here rather than in files of one server's data
-- directory, so every replica on this database signs and checks with the
-- same keys. A registry upgraded from before imports its key files on the
-- first start (service::bootstrap::shared_key).
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY NOT NULL,
    key BLOB NOT NULL,
    created_at TEXT NOT NULL
);
