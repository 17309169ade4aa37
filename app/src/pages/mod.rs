//! One module per screen.

pub mod not_found;
pub mod overview;
pub mod sign_in;
