//! Repositories as the portal shows them: what the server sends the browser
//! (names, digests, sizes, dates, platforms and lock attributes; the last
//! two are the API's wire types). Nothing here is secret. Times are RFC 3339 strings from the server; formatting
//! them is a pure function, so the server and the browser render the same
//! text (hydration needs identical HTML).

/// The four lock attributes (`changeableAttributes`) of a repository, tag
/// or manifest, and an index entry's `os/architecture[/variant]`.
pub use portcullis_proto::{Attributes as Locks, Platform};
use serde::{Deserialize, Serialize};

/// One lock attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    Read,
    Write,
    Delete,
    List,
}

impl LockKind {
    pub const ALL: [LockKind; 4] = [LockKind::Read, LockKind::Write, LockKind::Delete, LockKind::List];

    /// Short visible label ("read").
    pub fn label(self) -> &'static str {
        match self {
            LockKind::Read => "read",
            LockKind::Write => "write",
            LockKind::Delete => "delete",
            LockKind::List => "list",
        }
    }

    /// This attribute of `locks`.
    pub fn of(self, locks: &Locks) -> bool {
        match self {
            LockKind::Read => locks.read_enabled,
            LockKind::Write => locks.write_enabled,
            LockKind::Delete => locks.delete_enabled,
            LockKind::List => locks.list_enabled,
        }
    }

    /// The attribute's API name ("readEnabled").
    pub fn attribute(self) -> &'static str {
        match self {
            LockKind::Read => "readEnabled",
            LockKind::Write => "writeEnabled",
            LockKind::Delete => "deleteEnabled",
            LockKind::List => "listEnabled",
        }
    }
}

/// What a lock change applies to (a flat form field of the server
/// function; the tag or digest travels next to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockScope {
    Repository,
    Tag,
    Manifest,
}

/// Whose attributes to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockTarget {
    Repository,
    Tag(String),
    Manifest(String),
}

/// A repository in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositorySummary {
    pub name: String,
    pub tag_count: i64,
    pub manifest_count: i64,
    pub created: String,
    pub last_update: Option<String>,
    /// `listEnabled`: false hides it from the catalog and the API's list.
    pub listed: bool,
}

/// A tag and what it points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInfo {
    pub name: String,
    pub digest: String,
    pub media_type: String,
    /// Bytes of the manifest and everything it references (see
    /// [`ManifestInfo::total_size`]).
    pub total_size: Option<i64>,
    /// When the tag was last pushed (moved to its manifest).
    pub pushed: String,
    /// Filled when the tag points to an index.
    pub platforms: Vec<Platform>,
    pub locks: Locks,
}

/// A manifest of the repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestInfo {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    /// Bytes of the manifest document itself.
    pub size: i64,
    /// The manifest plus its config and layers as the manifest declares
    /// them; for an index, plus the totals of its children held in the
    /// repository. `None` when the content could not be read.
    pub total_size: Option<i64>,
    pub pushed: String,
    pub tags: Vec<String>,
    /// The platforms an index lists.
    pub platforms: Vec<Platform>,
    /// For an image that is a child of an index in this repository: its
    /// platform there.
    pub platform: Option<Platform>,
    pub locks: Locks,
}

impl ManifestInfo {
    pub fn is_index(&self) -> bool {
        self.media_type.contains("image.index") || self.media_type.contains("manifest.list")
    }

    /// The artifact type of a manifest that is not a container image (the
    /// server reports an image's config media type as its artifact type).
    pub fn artifact(&self) -> Option<&str> {
        const IMAGE_CONFIGS: [&str; 2] =
            ["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"];
        self.artifact_type.as_deref().filter(|artifact| !IMAGE_CONFIGS.contains(artifact))
    }
}

/// Everything the repository page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryDetail {
    pub name: String,
    /// `host[:port]` for the pull command.
    pub login_server: String,
    pub created: String,
    pub last_update: Option<String>,
    pub locks: Locks,
    /// Sorted by name.
    pub tags: Vec<TagInfo>,
    /// Newest first.
    pub manifests: Vec<ManifestInfo>,
    /// What the signed-in user may change here (the page shows only
    /// those controls; the server decides each change again).
    #[serde(default)]
    pub may: RepositoryRights,
}

/// The changes the policy lets the signed-in user make on a repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryRights {
    /// Turn its locks (and its tags' and manifests') on and off.
    pub change_locks: bool,
    /// Untag, delete images and manifests, delete the repository.
    pub delete: bool,
}

/// What deleting a repository removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedRepository {
    pub manifests_deleted: usize,
    pub tags_deleted: usize,
}

/// `sha256:0123456789ab` (the algorithm and 12 hex digits), as registries
/// abbreviate digests.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("{algorithm}:{}", hex.get(..12).unwrap_or(hex)),
        None => digest.get(..19).unwrap_or(digest).to_owned(),
    }
}

/// Bytes in the units `docker images` uses (powers of 1000).
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// `2025-03-01T12:34:56.123456Z` → `2025-03-01 12:34 UTC`; anything else
/// unchanged.
pub fn human_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {time} UTC")
        }
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_shortened_to_twelve_hex_digits() {
        assert_eq!(short_digest("sha256:0123456789abcdef0123"), "sha256:0123456789ab");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
    }

    #[test]
    fn sizes_read_like_docker_images() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_234), "1.23 kB");
        assert_eq!(human_size(45_600), "45.6 kB");
        assert_eq!(human_size(123_456_789), "123 MB");
    }

    #[test]
    fn times_drop_seconds_and_say_utc() {
        assert_eq!(human_time("2025-03-01T12:34:56.123456Z"), "2025-03-01 12:34 UTC");
        assert_eq!(human_time("yesterday"), "yesterday");
    }

    #[test]
    fn an_image_config_type_is_not_an_artifact() {
        let manifest = |artifact_type: Option<&str>| ManifestInfo {
            digest: "sha256:00".into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: artifact_type.map(str::to_owned),
            size: 1,
            total_size: None,
            pushed: String::new(),
            tags: vec![],
            platforms: vec![],
            platform: None,
            locks: Locks {
                read_enabled: true,
                write_enabled: true,
                delete_enabled: true,
                list_enabled: true,
            },
        };
        assert_eq!(manifest(Some("application/vnd.oci.image.config.v1+json")).artifact(), None);
        assert_eq!(manifest(None).artifact(), None);
        let sbom = manifest(Some("application/vnd.example.sbom.v1+json"));
        assert_eq!(sbom.artifact(), Some("application/vnd.example.sbom.v1+json"));
        assert!(!sbom.is_index());
    }

    #[test]
    fn platforms_print_like_docker() {
        let p = Platform { os: "linux".into(), architecture: "arm64".into(), variant: Some("v8".into()) };
        assert_eq!(p.to_string(), "linux/arm64/v8");
    }
}
