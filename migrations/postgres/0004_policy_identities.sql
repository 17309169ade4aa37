-- Policy objects never reuse an identity (SQLite's 0004 rebuilds users,
-- scope maps and tokens with AUTOINCREMENT for it). Identity columns take
-- their ids from sequences, which never hand a number out twice, so here
-- only the registry-wide revision counter is added: every change of a
-- scope map's rules takes its revision from it, so (id, revision) names
-- one set of rules forever.

-- The registry-wide revision counter; it only grows.
CREATE TABLE policy_revision (
    "only" INTEGER PRIMARY KEY CHECK ("only" = 1),
    value BIGINT  NOT NULL
);
INSERT INTO policy_revision ("only", value) SELECT 1, coalesce(max(revision), 0) FROM scope_maps;
-- Revisions given before this migration were per map (0, 1, 2, ...): give
-- every user-defined map a fresh one from the counter.
UPDATE scope_maps SET revision = (SELECT value FROM policy_revision) + id WHERE NOT is_system;
UPDATE policy_revision SET value = value + coalesce((SELECT max(id) FROM scope_maps), 0);
