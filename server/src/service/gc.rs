//! Garbage collection: removes blobs that no manifest references and
//! upload sessions nobody finished, while the registry keeps serving.
//! Anything touched within the grace period is spared: clients upload
//! layers before the manifest that references them.

use std::{sync::Arc, time::Duration};

use chrono::Utc;

use crate::{
    db::{registry as rows, Database, DbError},
    storage::{BlobStore, StorageError, UploadId},
};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub blobs_removed: u64,
    pub bytes_freed: u64,
    pub uploads_removed: u64,
    pub blobs_kept: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub struct GarbageCollector {
    db: Database,
    store: Arc<dyn BlobStore>,
    grace: Duration,
}

impl GarbageCollector {
    pub fn new(db: Database, store: Arc<dyn BlobStore>, grace: Duration) -> Self {
        Self { db, store, grace }
    }

    fn cutoff(&self) -> chrono::DateTime<Utc> {
        Utc::now() - chrono::Duration::from_std(self.grace).unwrap_or(chrono::Duration::hours(1))
    }

    /// One collection pass. With `dry_run`, reports what would go.
    pub async fn run(&self, dry_run: bool) -> Result<GcReport, GcError> {
        let cutoff = self.cutoff();
        let mut report = GcReport {
            uploads_removed: self.expire_uploads(dry_run).await?.len() as u64,
            ..GcReport::default()
        };

        for blob in self.store.list_blobs().await? {
            let old_enough = blob.modified.elapsed().is_ok_and(|age| age >= self.grace);
            if !old_enough || !rows::blob_is_garbage(&self.db, blob.digest.as_str(), cutoff).await? {
                report.blobs_kept += 1;
                continue;
            }
            let removed = if dry_run {
                true
            } else {
                let store = self.store.clone();
                let digest = blob.digest.clone();
                rows::collect_blob(&self.db, blob.digest.as_str(), cutoff, || async move {
                    match store.delete(&digest).await {
                        Ok(()) | Err(StorageError::BlobUnknown) => Ok(()),
                        Err(error) => Err(error.to_string()),
                    }
                })
                .await?
            };
            if removed {
                report.blobs_removed += 1;
                report.bytes_freed += blob.size;
            } else {
                report.blobs_kept += 1;
            }
        }
        Ok(report)
    }

    /// Removes upload sessions started before the grace period and not
    /// finished, and store sessions no row knows (monolithic uploads cut
    /// off by a crash); returns them. With `dry_run`, only lists them.
    pub async fn expire_uploads(&self, dry_run: bool) -> Result<Vec<UploadId>, GcError> {
        let cutoff = self.cutoff();
        let mut abandoned: Vec<UploadId> = Vec::new();
        for id in rows::uploads_started_before(&self.db, cutoff).await? {
            if let Ok(upload) = id.parse() {
                abandoned.push(upload);
            }
        }
        for upload in self.store.list_uploads_older_than(self.grace).await? {
            if !abandoned.contains(&upload) && !rows::upload_known(&self.db, &upload.to_string()).await? {
                abandoned.push(upload);
            }
        }
        if !dry_run {
            for upload in &abandoned {
                rows::delete_upload(&self.db, &upload.to_string()).await?;
                match self.store.cancel(*upload).await {
                    Ok(()) | Err(StorageError::UploadUnknown) => {}
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Ok(abandoned)
    }
}
