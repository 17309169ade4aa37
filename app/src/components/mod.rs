//! Pieces shared by several pages: the signed-in frame, the shared look
//! (`ui`), modal and confirmation dialogs, copying to the clipboard, and
//! showing a new secret once (`secret`).

pub mod copy;
pub mod dialog;
pub mod layout;
pub mod secret;
pub mod ui;
