//! People's accounts (docs/API.md "Users").

use serde::{Deserialize, Serialize};

use crate::Password;

/// `PUT /api/v1/users/{name}/password`. Both fields are secrets: `Debug`
/// shows neither.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: Password,
    /// At least 12 characters (at most 1024), not the current one, not the
    /// user name, not starting with `pct_`.
    pub new_password: Password,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_password() {
        let change = PasswordChange {
            current_password: Password::new("old-secret"),
            new_password: Password::new("new-secret"),
        };
        let shown = format!("{change:?}");
        assert!(!shown.contains("old-secret") && !shown.contains("new-secret"), "{shown}");
    }
}
