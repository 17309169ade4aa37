-- Federated credentials of service principals (issue 11, workload identity
-- federation): a service principal trusts the ID tokens of an external
-- OpenID Connect issuer for one audience and one subject (exact, or a
-- pattern where `*` matches any run of characters). A CI job exchanges
-- such a token at `POST /oauth2/exchange` for a registry refresh token that
-- names the credential, so deleting it ends those tokens at the next
-- request.
--
-- Like every identity table, a change takes the next policy_revision in
-- its transaction (db::federation).

CREATE TABLE federated_credentials (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    service_principal_id INTEGER NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    -- Unique per service principal, without regard to case.
    name                 TEXT    NOT NULL COLLATE NOCASE,
    -- The `iss` claim, compared exactly.
    issuer               TEXT    NOT NULL,
    -- A value the `aud` claim must hold, compared exactly.
    audience             TEXT    NOT NULL,
    -- The `sub` claim: exact, or a pattern with `*` (service::federation).
    subject              TEXT    NOT NULL,
    -- The issuer's signing keys as a JWKS document (JSON text); NULL: they
    -- are fetched from the issuer's OpenID configuration and cached.
    jwks                 TEXT,
    description          TEXT    NOT NULL DEFAULT '',
    created_at           TEXT    NOT NULL,
    UNIQUE (service_principal_id, name)
) STRICT;
CREATE INDEX federated_credentials_by_issuer ON federated_credentials (issuer);
