//! Use-cases: what the registry does, independent of HTTP. Services call
//! `db`, `auth` and (later) `storage`; they never build HTTP responses.

pub mod access;
pub mod access_code;
pub mod audit;
pub mod bootstrap;
pub mod federation;
pub mod fsck;
pub mod gc;
pub mod identities;
pub mod registry;
pub mod repositories;
pub mod tokens;
pub mod users;

/// The cause an `Internal` error keeps (as its `#[source]`): whatever went
/// wrong below the service, logged by the HTTP layer, never sent.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Whether `error`, or any error it was caused by, says the disk is full
/// (the database's or the blob store's): the HTTP layer then answers 507
/// Insufficient Storage with words an operator can act on, instead of an
/// opaque 500. Services wrap such errors in their `Internal(Cause)`, so the
/// answer is found by walking the chain rather than by a variant in every
/// service's error type.
pub fn out_of_space(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        let full = if let Some(db) = error.downcast_ref::<crate::db::DbError>() {
            matches!(db, crate::db::DbError::Full(_))
        } else if let Some(store) = error.downcast_ref::<crate::storage::StorageError>() {
            matches!(store, crate::storage::StorageError::Full(_))
        } else if let Some(io) = error.downcast_ref::<std::io::Error>() {
            crate::storage::is_out_of_space(io)
        } else {
            false
        };
        if full {
            return true;
        }
        next = error.source();
    }
    false
}
