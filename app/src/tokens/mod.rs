//! Tokens and scope maps in the portal: the model shared with the browser,
//! the server functions, the port to the server (`backend`, server side
//! only), the pages and the pieces only they share (the repository rows
//! editor, times); dialogs and copying are in [`crate::components`].

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod model;
pub mod pages;
mod rules_editor;
pub(crate) mod ui;
