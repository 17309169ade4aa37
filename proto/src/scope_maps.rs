//! Scope maps and the five actions (SPEC §1, docs/API.md "Scope maps").

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One thing a credential may do to a repository. The declaration order is
/// the fixed order used everywhere sets are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Action {
    /// Pull: GET/HEAD manifests and blobs.
    #[serde(rename = "content/read")]
    ContentRead,
    /// Push (used together with content/read): uploads, mount target, PUT manifests and tags.
    #[serde(rename = "content/write")]
    ContentWrite,
    /// Delete manifests, tags, blobs or a whole repository.
    #[serde(rename = "content/delete")]
    ContentDelete,
    /// List tags, manifests with metadata, repository attributes, referrers; see the catalog.
    #[serde(rename = "metadata/read")]
    MetadataRead,
    /// Untag, set repository / tag / manifest attributes (lock an image).
    #[serde(rename = "metadata/write")]
    MetadataWrite,
}

impl Action {
    /// Every action, in the fixed listing order.
    pub const ALL: [Action; 5] = [
        Action::ContentRead,
        Action::ContentWrite,
        Action::ContentDelete,
        Action::MetadataRead,
        Action::MetadataWrite,
    ];

    /// The order the cloud registry lists a rule's actions in (delete,
    /// read, write, metadata): the order of the API's answers and of the
    /// portal's editor.
    pub const LISTED: [Action; 5] = [
        Action::ContentDelete,
        Action::ContentRead,
        Action::ContentWrite,
        Action::MetadataRead,
        Action::MetadataWrite,
    ];

    /// The wire and display form, e.g. `content/read`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::ContentRead => "content/read",
            Action::ContentWrite => "content/write",
            Action::ContentDelete => "content/delete",
            Action::MetadataRead => "metadata/read",
            Action::MetadataWrite => "metadata/write",
        }
    }

    /// What the action allows, in a user's words (for the CLI help).
    pub const fn description(self) -> &'static str {
        match self {
            Action::ContentRead => "Pull: read manifests and blobs",
            Action::ContentWrite => "Push: upload blobs and manifests, create tags (use with content/read)",
            Action::ContentDelete => "Delete manifests, tags, blobs or the whole repository",
            Action::MetadataRead => "List tags and manifests, read attributes and referrers",
            Action::MetadataWrite => "Untag, change repository, tag and manifest attributes",
        }
    }

    /// The Docker token-spec word for this action, as written in the
    /// `access` claim of an issued registry token.
    pub const fn token_scope_word(self) -> &'static str {
        match self {
            Action::ContentRead => "pull",
            Action::ContentWrite => "push",
            Action::ContentDelete => "delete",
            Action::MetadataRead => "metadata_read",
            Action::MetadataWrite => "metadata_write",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is none of the five actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAction(pub String);

impl fmt::Display for UnknownAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown action {:?}: expected one of content/read, content/write, content/delete, metadata/read, metadata/write",
            self.0
        )
    }
}

impl std::error::Error for UnknownAction {}

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or_else(|| UnknownAction(text.to_owned()))
    }
}

/// System-defined scope maps exist in every registry and are read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ScopeMapKind {
    SystemDefined,
    UserDefined,
}

/// `{"repository": "samples/*", "actions": ["content/read"]}`: one rule as
/// users write it. `repository` is an exact name, `prefix/*` or `*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepositoryActions {
    pub repository: String,
    /// At least one (the server says so when there is none; a form may
    /// send a row with no action ticked).
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// A scope map as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScopeMap {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ScopeMapKind,
    pub description: String,
    #[serde(with = "crate::time")]
    pub creation_date: DateTime<Utc>,
    /// `repositories/<pattern>/<action>`, the cloud registry's form.
    pub actions: Vec<String>,
    /// Sorted by pattern; each rule's actions in [`Action::LISTED`] order.
    pub repositories: Vec<RepositoryActions>,
    pub token_count: i64,
}

/// `POST /api/v1/scope-maps`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewScopeMap {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub repositories: Vec<RepositoryActions>,
}

/// `PATCH /api/v1/scope-maps/{name}`: removing actions removes only those
/// actions from the rule with exactly that pattern; a rule left with no
/// actions disappears.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScopeMapChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_repositories: Vec<RepositoryActions>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_repositories: Vec<RepositoryActions>,
}

impl ScopeMapChange {
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.add_repositories.is_empty() && self.remove_repositories.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn actions_read_and_write_their_wire_names() {
        for action in Action::ALL {
            assert_eq!(serde_json::to_value(action).unwrap(), json!(action.as_str()));
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
        }
        assert!("content/readd".parse::<Action>().unwrap_err().to_string().contains("unknown action"));
    }

    #[test]
    fn a_scope_map_keeps_the_documented_shape() {
        let map = ScopeMap {
            name: "MyScopeMap".into(),
            kind: ScopeMapKind::UserDefined,
            description: "Sample scope map".into(),
            creation_date: "2026-11-23T16:30:00Z".parse().unwrap(),
            actions: vec!["repositories/samples/hello-world/content/read".into()],
            repositories: vec![RepositoryActions {
                repository: "samples/hello-world".into(),
                actions: vec![Action::ContentRead],
            }],
            token_count: 1,
        };
        assert_eq!(
            serde_json::to_value(&map).unwrap(),
            json!({
                "name": "MyScopeMap", "type": "UserDefined", "description": "Sample scope map",
                "creationDate": "2026-11-23T16:30:00.000000Z",
                "actions": ["repositories/samples/hello-world/content/read"],
                "repositories": [{"repository": "samples/hello-world", "actions": ["content/read"]}],
                "tokenCount": 1
            })
        );
        let back: ScopeMap = serde_json::from_value(serde_json::to_value(&map).unwrap()).unwrap();
        assert_eq!(back, map);
    }
}
