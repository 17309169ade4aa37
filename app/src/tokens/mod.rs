//! Tokens and scope maps in the portal: the model shared with the browser,
//! the server functions, the port to the server (`backend`, server side
//! only), the pages and the pieces they share (dialogs, the repository
//! rows editor).

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod dialog;
pub mod model;
pub mod pages;
mod rules_editor;
mod scope_map_pages;
mod ui;
