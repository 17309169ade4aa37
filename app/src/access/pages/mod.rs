//! The access-control screens, one file each; the condition editor they
//! share is [`crate::access::condition_editor`].

mod assignment;
mod assignments;
mod check_access;
mod new_assignment;
mod settings;

pub use assignment::AssignmentPage;
pub use assignments::AssignmentsPage;
pub use check_access::CheckAccessPage;
pub use new_assignment::NewAssignmentPage;
pub use settings::SettingsPage;

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
