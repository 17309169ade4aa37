//! The token and scope map screens, one file each; what several of them
//! share is in [`crate::tokens::ui`], [`crate::tokens::rules_editor`] and
//! [`crate::components`].

mod new_scope_map;
mod new_token;
mod scope_map;
mod scope_maps;
mod token;
mod tokens;

pub use new_scope_map::NewScopeMapPage;
pub use new_token::NewTokenPage;
pub use scope_map::ScopeMapPage;
pub use scope_maps::ScopeMapsPage;
pub use token::TokenPage;
pub use tokens::TokensPage;
