//! Access control (IAM) in the portal: role assignments and their
//! conditions (the list, the Add role assignment wizard, the condition
//! editor with its code view), Check access and the registry's permissions
//! mode. The model shared with the browser, the server functions, the port
//! to the server (`backend`, server side only), the pages and the editor.

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod condition_editor;
pub mod model;
pub mod pages;
