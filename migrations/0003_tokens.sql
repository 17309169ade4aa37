-- Repository-scoped access (SPEC §1): scope maps, tokens and the audit log,
-- plus the lock attributes of repositories, manifests and tags.

CREATE TABLE scope_maps (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT    NOT NULL DEFAULT '',
    is_system   INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)),
    created_at  TEXT    NOT NULL,
    -- Bumped by every change of the rules: replicas cache the compiled
    -- rules per (id, revision) and see an edit on the next request.
    revision    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One rule per pattern; `actions` is a comma-separated list of action names
-- (`content/read,content/write`), never empty.
CREATE TABLE scope_map_rules (
    scope_map_id INTEGER NOT NULL REFERENCES scope_maps (id) ON DELETE CASCADE,
    pattern      TEXT    NOT NULL,
    actions      TEXT    NOT NULL CHECK (actions <> ''),
    PRIMARY KEY (scope_map_id, pattern)
) STRICT, WITHOUT ROWID;

-- The system-defined scope maps (policy::SYSTEM_SCOPE_MAPS); read-only.
INSERT INTO scope_maps (name, description, is_system, created_at) VALUES
    ('_repositories_admin', 'Can perform all read, write and delete operations on every repository of the registry', 1, strftime('%Y-%m-%dT%H:%M:%fZ')),
    ('_repositories_pull', 'Can pull any repository of the registry', 1, strftime('%Y-%m-%dT%H:%M:%fZ')),
    ('_repositories_pull_metadata_read', 'Can pull any repository of the registry and read its metadata (list tags and manifests)', 1, strftime('%Y-%m-%dT%H:%M:%fZ')),
    ('_repositories_push', 'Can pull from and push to any repository of the registry', 1, strftime('%Y-%m-%dT%H:%M:%fZ')),
    ('_repositories_push_metadata_write', 'Can pull from and push to any repository of the registry, and read and write its metadata', 1, strftime('%Y-%m-%dT%H:%M:%fZ'));
INSERT INTO scope_map_rules (scope_map_id, pattern, actions)
SELECT id, '*', CASE name
    WHEN '_repositories_admin' THEN 'content/read,content/write,content/delete,metadata/read,metadata/write'
    WHEN '_repositories_pull' THEN 'content/read'
    WHEN '_repositories_pull_metadata_read' THEN 'content/read,metadata/read'
    WHEN '_repositories_push' THEN 'content/read,content/write'
    WHEN '_repositories_push_metadata_write' THEN 'content/read,content/write,metadata/read,metadata/write'
END
FROM scope_maps WHERE is_system = 1;

-- A token: the user name at `docker login`, with two password slots. A
-- slot holds a keyed digest (HMAC-SHA256 under the registry's password key),
-- never the password. `pN_serial` identifies one generation of the slot:
-- access tokens issued for it name it, so regenerating or deleting the
-- password ends them on the next request.
CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    scope_map_id  INTEGER NOT NULL REFERENCES scope_maps (id),
    enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at    TEXT    NOT NULL,
    last_used_at  TEXT,
    p1_digest     BLOB,
    p1_created_at TEXT,
    p1_expires_at TEXT,
    p1_serial     INTEGER,
    p2_digest     BLOB,
    p2_created_at TEXT,
    p2_expires_at TEXT,
    p2_serial     INTEGER
) STRICT;
-- Names compare without case (`MyToken` and `mytoken` are one token), so
-- the unique index also serves the token list's order and prefix search.
CREATE INDEX tokens_by_scope_map ON tokens (scope_map_id, name);

-- Who did what, when, with which outcome. Appended in batches.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT    NOT NULL,
    caller     TEXT    NOT NULL,
    token      TEXT,
    repository TEXT,
    action     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    detail     TEXT
) STRICT;
CREATE INDEX audit_log_by_token ON audit_log (token, id) WHERE token IS NOT NULL;

-- Lock attributes (changeableAttributes). They bind every caller, the
-- administrators included.
ALTER TABLE repositories ADD COLUMN read_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (read_enabled IN (0, 1));
ALTER TABLE repositories ADD COLUMN write_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (write_enabled IN (0, 1));
ALTER TABLE repositories ADD COLUMN delete_enabled INTEGER NOT NULL DEFAULT 1 CHECK (delete_enabled IN (0, 1));
ALTER TABLE repositories ADD COLUMN list_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (list_enabled IN (0, 1));
ALTER TABLE manifests ADD COLUMN read_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (read_enabled IN (0, 1));
ALTER TABLE manifests ADD COLUMN write_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (write_enabled IN (0, 1));
ALTER TABLE manifests ADD COLUMN delete_enabled INTEGER NOT NULL DEFAULT 1 CHECK (delete_enabled IN (0, 1));
ALTER TABLE manifests ADD COLUMN list_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (list_enabled IN (0, 1));
ALTER TABLE tags ADD COLUMN read_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (read_enabled IN (0, 1));
ALTER TABLE tags ADD COLUMN write_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (write_enabled IN (0, 1));
ALTER TABLE tags ADD COLUMN delete_enabled INTEGER NOT NULL DEFAULT 1 CHECK (delete_enabled IN (0, 1));
ALTER TABLE tags ADD COLUMN list_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (list_enabled IN (0, 1));
ALTER TABLE tags ADD COLUMN created_at     TEXT;
