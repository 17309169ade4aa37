//! Repositories, tags and manifests with their lock attributes
//! (docs/API.md "Repositories").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `changeableAttributes` of a repository, tag or manifest: what the
/// registry still allows on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    pub delete_enabled: bool,
    pub write_enabled: bool,
    pub read_enabled: bool,
    pub list_enabled: bool,
}

/// A partial change of [`Attributes`] (the `PATCH` bodies); absent
/// attributes stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributesPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub name: String,
    #[serde(with = "crate::time")]
    pub created_time: DateTime<Utc>,
    /// `null` until something was pushed after the creation.
    #[serde(with = "crate::time::option")]
    pub last_update_time: Option<DateTime<Utc>>,
    pub tag_count: i64,
    pub manifest_count: i64,
    pub changeable_attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub name: String,
    pub digest: String,
    #[serde(with = "crate::time")]
    pub created_time: DateTime<Utc>,
    /// When the tag last moved to a manifest.
    #[serde(with = "crate::time")]
    pub last_update_time: DateTime<Utc>,
    pub changeable_attributes: Attributes,
}

/// An `os/architecture[/variant]` of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    /// The artifact type, or an image's config media type.
    pub artifact_type: Option<String>,
    /// Bytes of the manifest document.
    pub size: i64,
    /// The manifest with everything it references (for an index, with its
    /// images and theirs).
    pub total_size: i64,
    #[serde(with = "crate::time")]
    pub created_time: DateTime<Utc>,
    pub tags: Vec<String>,
    /// The platforms an index lists; for an image, the one its configuration names.
    pub platforms: Vec<Platform>,
    /// The platform an index of the repository lists this image for.
    pub index_platform: Option<Platform>,
    pub changeable_attributes: Attributes,
}

/// What `DELETE /api/v1/repositories/{name}` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeletedRepository {
    pub manifests_deleted: Vec<String>,
    pub tags_deleted: Vec<String>,
}
