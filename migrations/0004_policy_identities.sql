-- Policy objects never reuse an identity (issue: a scope map created after
-- the newest one was deleted got the deleted map's id, revision 0, and so
-- its cached compiled rules). Users, scope maps and tokens get AUTOINCREMENT
-- ids, and every change of a scope map's rules takes its revision from one
-- registry-wide counter, so (id, revision) names one set of rules forever.
--
-- SQLite cannot add AUTOINCREMENT to a table: the three tables are rebuilt.
-- The migration runs in one transaction with foreign keys on, so the new
-- tables are filled before the old ones are dropped (dropping a parent last,
-- once its children are gone, cascades nothing), and renaming a new table
-- rewrites the references to it.

CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    TEXT    NOT NULL
) STRICT;
INSERT INTO users_new (id, name, password_hash, is_admin, created_at)
    SELECT id, name, password_hash, is_admin, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE scope_maps_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT    NOT NULL DEFAULT '',
    is_system   INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)),
    created_at  TEXT    NOT NULL,
    -- From policy_revision at every change of the rules (and at creation):
    -- unique across all scope maps, so a cache keyed by it cannot hand one
    -- map's rules to another.
    revision    INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO scope_maps_new (id, name, description, is_system, created_at, revision)
    SELECT id, name, description, is_system, created_at, revision FROM scope_maps;

CREATE TABLE scope_map_rules_new (
    scope_map_id INTEGER NOT NULL REFERENCES scope_maps_new (id) ON DELETE CASCADE,
    pattern      TEXT    NOT NULL,
    actions      TEXT    NOT NULL CHECK (actions <> ''),
    PRIMARY KEY (scope_map_id, pattern)
) STRICT, WITHOUT ROWID;
INSERT INTO scope_map_rules_new (scope_map_id, pattern, actions)
    SELECT scope_map_id, pattern, actions FROM scope_map_rules;

CREATE TABLE tokens_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    scope_map_id  INTEGER NOT NULL REFERENCES scope_maps_new (id),
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
INSERT INTO tokens_new
    SELECT id, name, scope_map_id, enabled, created_at, last_used_at,
           p1_digest, p1_created_at, p1_expires_at, p1_serial,
           p2_digest, p2_created_at, p2_expires_at, p2_serial
    FROM tokens;

-- Children first: dropping scope_maps then cascades to nothing.
DROP TABLE tokens;
DROP TABLE scope_map_rules;
DROP TABLE scope_maps;
ALTER TABLE scope_maps_new RENAME TO scope_maps;
ALTER TABLE scope_map_rules_new RENAME TO scope_map_rules;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_by_scope_map ON tokens (scope_map_id, name);

-- The registry-wide revision counter; it only grows.
CREATE TABLE policy_revision (
    only  INTEGER PRIMARY KEY CHECK (only = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO policy_revision (only, value) SELECT 1, coalesce(max(revision), 0) FROM scope_maps;
-- Revisions given before this migration were per map (0, 1, 2, ...): give
-- every user-defined map a fresh one from the counter.
UPDATE scope_maps SET revision = (SELECT value FROM policy_revision) + id WHERE is_system = 0;
UPDATE policy_revision SET value = value + coalesce((SELECT max(id) FROM scope_maps), 0);
