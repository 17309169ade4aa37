//! One module per screen.

pub mod change_password;
pub mod my_access;
pub mod my_token;
pub mod not_found;
pub mod overview;
pub mod sign_in;
