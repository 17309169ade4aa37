//! `DomainError`: why a client-supplied name, tag, digest or reference was
//! refused. Owns only the error type; the HTTP layer maps each variant to an
//! OCI error code once (`NAME_INVALID`, `TAG_INVALID`, `DIGEST_INVALID`,
//! `UNSUPPORTED`).

/// A value from outside failed validation. Each reason is written for the
/// client that sent it and never echoes characters outside the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The repository name breaks the OCI name grammar or length limit.
    #[error("invalid repository name: {reason}")]
    NameInvalid { reason: String },
    /// The tag breaks `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    #[error("invalid tag: {reason}")]
    TagInvalid { reason: String },
    /// The digest is malformed, or its encoded part does not fit its algorithm.
    #[error("invalid digest: {reason}")]
    DigestInvalid { reason: String },
    /// The digest is well-formed but names an algorithm this registry does
    /// not implement (only sha256 and sha512 are).
    #[error("unsupported digest algorithm {algorithm:?}: only sha256 and sha512 are supported")]
    DigestUnsupported { algorithm: String },
}
