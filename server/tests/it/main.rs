//! Integration tests: the real `portcullis` binary on a free port with a
//! temporary data directory, driven over HTTP. One test binary on purpose
//! (shared helpers, one link step).

mod access_code;
mod authz;
mod clients;
mod command;
mod crash;
mod docker;
mod faults;
mod federation;
mod gc;
mod identities;
mod limits;
mod locks;
mod portal;
mod portal_security;
mod registry;
mod replicas;
mod s3;
mod schemathesis;
mod security;
mod signals;
mod testkit;
mod tls;
mod upgrade;
mod users;
mod walkthrough;
