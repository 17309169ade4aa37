//! Repositories in the portal: the model shared with the browser, the server
//! functions, the port to the server (`backend`, server side only) and the
//! pages (their dialog and copy field are shared, in
//! [`crate::components`]).

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod model;
pub mod pages;
