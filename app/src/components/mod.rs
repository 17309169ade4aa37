//! Pieces shared by several pages: the signed-in frame, the shared look
//! (`ui`), modal and confirmation dialogs, and copying to the clipboard.

pub mod copy;
pub mod dialog;
pub mod layout;
pub mod ui;
