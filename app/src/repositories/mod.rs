//! Repositories in the portal: the model shared with the browser, the server
//! functions, the port to the server (`backend`, server side only), the
//! pages and their confirmation dialog and copy field.

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod copy;
mod dialog;
pub mod model;
pub mod pages;
