//! The registry's validated vocabulary: repository names, tags, digests and
//! references (SPEC §3, OCI distribution-spec "Pulling manifests"). Pure
//! values: no I/O, no async, and nothing here may call `db`, `storage`,
//! `service` or `http`.
//!
//! Everything a client sends is parsed into these types at the edge, so code
//! past the HTTP layer never handles a raw name or digest string.

mod digest;
mod error;
pub mod manifest;
mod name;
mod name_grammar;
mod reference;
mod tag;

pub use digest::{Algorithm, Digest, DigestHasher};
pub use error::DomainError;
pub use name::RepositoryName;
pub use name_grammar::{check_repository_name, RepositoryNameViolation, REPOSITORY_NAME_MAX_LENGTH};
pub use reference::Reference;
pub use tag::Tag;
