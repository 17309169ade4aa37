//! Repository management (SPEC §2 item 7): list, show, tags and manifests
//! with their lock attributes, untag, delete a repository, and set the
//! attributes. Used by the JSON API and the portal; permissions are checked
//! by the caller, locks here (through `RegistryService::check_locks`).

use std::{collections::HashMap, sync::Arc};

use futures::StreamExt;

pub use portcullis_proto::{Attributes, AttributesPatch, DeletedRepository, Manifest, Platform, Repository};
/// The API's tag (`domain::Tag` is the validated tag name).
pub type TagView = portcullis_proto::Tag;

use crate::{
    auth::token::Subject,
    db::{
        repositories::{self as rows, LockScope, LockTarget, Locks},
        Database,
    },
    domain::{
        manifest::{parse_manifest, Descriptor},
        Digest, Reference, RepositoryName, Tag,
    },
    policy::{self, ActionSet, Decision, Grants, Operation, Principal, RepositoryOperation},
    service::{
        audit::{AuditLog, Caller, Outcome},
        registry::{LockedOperation, RegistryError, RegistryResult, RegistryService},
    },
};

fn attributes(locks: Locks) -> Attributes {
    Attributes {
        delete_enabled: locks.delete_enabled,
        write_enabled: locks.write_enabled,
        read_enabled: locks.read_enabled,
        list_enabled: locks.list_enabled,
    }
}

/// What the registry holds, for the portal's overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Repositories holding at least one manifest.
    pub repositories: i64,
    pub tags: i64,
    pub blobs: i64,
}

/// A repository a caller may list, with its tags, whether the caller may
/// pull from it, and every action the caller holds on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadableRepository {
    pub name: String,
    pub tags: Vec<String>,
    pub can_pull: bool,
    pub actions: ActionSet,
}

fn platform(platform: &crate::domain::manifest::Platform) -> Platform {
    Platform {
        os: platform.os.clone(),
        architecture: platform.architecture.clone(),
        variant: platform.variant.clone(),
    }
}

/// What the manifests' content says beyond their rows: the platforms an
/// index lists, the platform an index gives each child, and the size of
/// everything a manifest references (config and layers; for an index, its
/// children's totals). Parsed with the same parser that accepted them.
#[derive(Default)]
struct ContentFacts {
    platforms: HashMap<String, Vec<Platform>>,
    platform_in_index: HashMap<String, Platform>,
    total_size: HashMap<String, i64>,
    /// An image's configuration, which names its platform.
    configs: HashMap<String, Descriptor>,
}

/// Configuration types whose `os` and `architecture` name the image's
/// platform.
const IMAGE_CONFIG_TYPES: [&str; 2] =
    ["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"];

/// The largest configuration read for its platform; real ones are a few KiB.
const CONFIG_READ_LIMIT: u64 = 256 * 1024;

impl ContentFacts {
    fn of(manifests: &[rows::ManifestInfoRow]) -> Self {
        let mut facts = Self::default();
        let mut indexes = Vec::new();
        for manifest in manifests {
            let Ok(parsed) = parse_manifest(Some(&manifest.media_type), &manifest.content) else { continue };
            if parsed.manifests.is_empty() {
                let referenced: u64 = parsed.blob_references().map(|d| d.size).sum();
                facts.total_size.insert(manifest.digest.clone(), manifest.size + referenced as i64);
                if let Some(config) = parsed.config.clone() {
                    facts.configs.insert(manifest.digest.clone(), config);
                }
            } else {
                indexes.push((manifest, parsed));
            }
        }
        // Indexes after the images, whose totals they add up.
        for (manifest, parsed) in indexes {
            let mut total = manifest.size;
            let mut platforms = Vec::new();
            for child in &parsed.manifests {
                total += facts.total_size.get(child.digest.as_str()).copied().unwrap_or(child.size as i64);
                if let Some(platform) = &child.platform {
                    platforms.push(self::platform(platform));
                    facts.platform_in_index.insert(child.digest.to_string(), self::platform(platform));
                }
            }
            facts.total_size.insert(manifest.digest.clone(), total);
            facts.platforms.insert(manifest.digest.clone(), platforms);
        }
        facts
    }
}

pub struct RepositoryAdmin {
    db: Database,
    registry: Arc<RegistryService>,
    audit: AuditLog,
}

impl RepositoryAdmin {
    pub fn new(db: Database, registry: Arc<RegistryService>, audit: AuditLog) -> Self {
        Self { db, registry, audit }
    }

    /// Every listed repository the caller may see (`visible`), by name.
    pub async fn list(
        &self,
        visible: impl Fn(&RepositoryName) -> bool,
    ) -> RegistryResult<Vec<RepositoryName>> {
        self.registry.catalog(None, u32::MAX, visible).await
    }

    /// An administrator's list: every repository holding content and every
    /// unlisted one, with its details, in one query.
    pub async fn list_all(&self) -> RegistryResult<Vec<Repository>> {
        Ok(rows::administered_repositories(&self.db).await?.into_iter().map(repository_view).collect())
    }

    pub async fn counts(&self) -> RegistryResult<Counts> {
        let (repositories, tags, blobs) = crate::db::registry::counts(&self.db).await?;
        Ok(Counts { repositories, tags, blobs })
    }

    /// The first `limit` repositories `principal` may list, each with (up
    /// to `limit` of) its tags and whether the policy lets the principal
    /// pull from it: a token holder's own view.
    pub async fn readable(
        &self,
        principal: &Principal,
        limit: u32,
    ) -> RegistryResult<Vec<ReadableRepository>> {
        let listable = |name: &RepositoryName| policy::may_list(principal, name);
        let mut readable = Vec::new();
        for name in self.registry.catalog(None, limit, listable).await? {
            let tags = self.registry.tags(&name, None, limit).await?;
            let pull = Operation::Repository(&name, RepositoryOperation::Pull);
            let can_pull = policy::decide(principal, Grants::Policy, pull) == Decision::Allow;
            let actions = policy::actions_on(principal, &name);
            readable.push(ReadableRepository { name: name.into(), tags, can_pull, actions });
        }
        Ok(readable)
    }

    async fn row(&self, name: &RepositoryName) -> RegistryResult<rows::RepositoryRow> {
        rows::repository(&self.db, name.as_str()).await?.ok_or(RegistryError::NameUnknown)
    }

    pub async fn show(&self, name: &RepositoryName) -> RegistryResult<Repository> {
        Ok(repository_view(self.row(name).await?))
    }

    pub async fn tags(&self, name: &RepositoryName) -> RegistryResult<Vec<TagView>> {
        let row = self.row(name).await?;
        Ok(rows::tags(&self.db, row.id).await?.into_iter().map(tag_view).collect())
    }

    pub async fn tag(&self, name: &RepositoryName, tag: &Tag) -> RegistryResult<TagView> {
        let row = self.row(name).await?;
        rows::tag(&self.db, row.id, tag.as_str()).await?.map(tag_view).ok_or(RegistryError::ManifestUnknown)
    }

    /// The platform an image's configuration names (`os`, `architecture`,
    /// `variant`); `None` when it is not an image configuration, is too
    /// large, cannot be read or names none. Never an error: the page shows
    /// "—" then.
    async fn config_platform(&self, name: &RepositoryName, config: &Descriptor) -> Option<Platform> {
        if !IMAGE_CONFIG_TYPES.contains(&config.media_type.as_str()) || config.size > CONFIG_READ_LIMIT {
            return None;
        }
        let mut body = self.registry.read_blob(name, &config.digest, None).await.ok()?.body;
        let mut bytes = Vec::with_capacity(config.size as usize);
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.ok()?);
            if bytes.len() as u64 > CONFIG_READ_LIMIT {
                return None;
            }
        }
        #[derive(serde::Deserialize)]
        struct Named {
            #[serde(default)]
            os: String,
            #[serde(default)]
            architecture: String,
            #[serde(default)]
            variant: Option<String>,
        }
        let named: Named = serde_json::from_slice(&bytes).ok()?;
        (!named.os.is_empty() && !named.architecture.is_empty()).then(|| Platform {
            os: named.os,
            architecture: named.architecture,
            variant: named.variant.filter(|variant| !variant.is_empty()),
        })
    }

    pub async fn manifests(
        &self,
        name: &RepositoryName,
        digest: Option<&Digest>,
    ) -> RegistryResult<Vec<Manifest>> {
        let row = self.row(name).await?;
        // All of them: an index's total needs its images' sizes.
        let manifests = rows::manifests(&self.db, row.id, None).await?;
        let mut facts = ContentFacts::of(&manifests);
        let mut views: Vec<Manifest> = manifests
            .into_iter()
            .filter(|m| digest.is_none_or(|digest| m.digest == digest.as_str()))
            .map(|m| Manifest {
                total_size: facts.total_size.get(&m.digest).copied().unwrap_or(m.size),
                platforms: facts.platforms.remove(&m.digest).unwrap_or_default(),
                index_platform: facts.platform_in_index.get(&m.digest).cloned(),
                digest: m.digest,
                media_type: m.media_type,
                artifact_type: m.artifact_type,
                size: m.size,
                created_time: m.created_at,
                tags: m.tags,
                changeable_attributes: attributes(m.locks),
            })
            .collect();
        if digest.is_some() && views.is_empty() {
            return Err(RegistryError::ManifestUnknown);
        }
        // A single-platform image names its platform in its configuration.
        for view in &mut views {
            if let Some(config) = facts.configs.get(&view.digest) {
                view.platforms.extend(self.config_platform(name, config).await);
            }
        }
        Ok(views)
    }

    async fn audit(&self, actor: &Subject, name: &RepositoryName, action: &str, detail: String) {
        self.audit
            .record(Caller::Subject(actor), None, Some(name.as_str()), action, Outcome::Success, Some(detail))
            .await;
    }

    /// Deletes the repository with all its manifests and tags, unless a
    /// lock forbids it.
    pub async fn delete(&self, actor: &Subject, name: &RepositoryName) -> RegistryResult<DeletedRepository> {
        let row = self.row(name).await?;
        self.registry.check_locks(name, LockScope::Everything, LockedOperation::Delete).await?;
        let (manifests_deleted, tags_deleted) = rows::delete_repository(&self.db, row.id).await?;
        self.audit(actor, name, "repository.delete", format!("repository {name}")).await;
        Ok(DeletedRepository { manifests_deleted, tags_deleted })
    }

    /// Deletes a manifest and every tag on it, unless a lock forbids it.
    pub async fn delete_manifest(
        &self,
        actor: &Subject,
        name: &RepositoryName,
        digest: &Digest,
    ) -> RegistryResult<()> {
        self.registry.delete_manifest(name, &Reference::Digest(digest.clone())).await?;
        self.audit(actor, name, "manifest.delete", format!("{name}@{digest}")).await;
        Ok(())
    }

    /// Removes a tag (the manifest stays), unless a lock forbids it.
    pub async fn untag(&self, actor: &Subject, name: &RepositoryName, tag: &Tag) -> RegistryResult<()> {
        self.registry.delete_manifest(name, &Reference::Tag(tag.clone())).await?;
        self.audit(actor, name, "repository.untag", format!("{name}:{tag}")).await;
        Ok(())
    }

    pub async fn set_attributes(
        &self,
        actor: &Subject,
        name: &RepositoryName,
        target: LockTarget<'_>,
        patch: AttributesPatch,
    ) -> RegistryResult<()> {
        let row = self.row(name).await?;
        let found = rows::set_locks(
            &self.db,
            row.id,
            target,
            patch.read_enabled,
            patch.write_enabled,
            patch.delete_enabled,
            patch.list_enabled,
        )
        .await?;
        if !found {
            return Err(RegistryError::ManifestUnknown);
        }
        let what = match target {
            LockTarget::Repository => name.to_string(),
            LockTarget::Tag(tag) => format!("{name}:{tag}"),
            LockTarget::Manifest(digest) => format!("{name}@{digest}"),
        };
        self.audit(actor, name, "repository.update", format!("{what}: {patch:?}")).await;
        Ok(())
    }
}

fn repository_view(row: rows::RepositoryRow) -> Repository {
    Repository {
        name: row.name,
        created_time: row.created_at,
        last_update_time: row.last_update,
        tag_count: row.tag_count,
        manifest_count: row.manifest_count,
        changeable_attributes: attributes(row.locks),
    }
}

fn tag_view(row: rows::TagRow) -> TagView {
    TagView {
        name: row.name,
        digest: row.digest,
        created_time: row.created_at,
        last_update_time: row.updated_at,
        changeable_attributes: attributes(row.locks),
    }
}
