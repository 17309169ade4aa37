//! Users, groups and service principals in the portal (issue 12): the model
//! shared with the browser, the server functions, the port to the server
//! (`backend`, server side only), the pages and the pieces only they share;
//! dialogs and copying are in [`crate::components`].

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod model;
pub mod pages;
mod ui;
