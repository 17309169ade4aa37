//! The user, group and service principal screens, one file each; what
//! several of them share is in [`crate::identities::ui`] and
//! [`crate::components`].

mod group;
mod groups;
mod new_user;
mod service_principal;
mod service_principals;
mod user;
mod users;

pub use group::GroupPage;
pub use groups::GroupsPage;
pub use new_user::NewUserPage;
pub use service_principal::ServicePrincipalPage;
pub use service_principals::ServicePrincipalsPage;
pub use user::UserPage;
pub use users::UsersPage;
