//! Use-cases: what the registry does, independent of HTTP. Services call
//! `db`, `auth` and (later) `storage`; they never build HTTP responses.

pub mod access;
pub mod access_code;
pub mod audit;
pub mod bootstrap;
pub mod federation;
pub mod gc;
pub mod identities;
pub mod registry;
pub mod repositories;
pub mod tokens;
pub mod users;

/// The cause an `Internal` error keeps (as its `#[source]`): whatever went
/// wrong below the service, logged by the HTTP layer, never sent.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;
