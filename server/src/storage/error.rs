//! `StorageError`: why a blob-store operation failed. Owns only the error
//! type; the HTTP layer maps each variant to an OCI answer once
//! (`DIGEST_INVALID`, `BLOB_UPLOAD_UNKNOWN`, `BLOB_UNKNOWN`, 416, 507 or
//! 500).

use crate::domain::Digest;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The stored bytes hash to `actual`, not to the digest the client
    /// named; nothing became visible.
    #[error("content hashes to {actual}, not to the expected {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },

    /// No upload session has this id (never begun, finished, cancelled or
    /// collected).
    #[error("upload unknown")]
    UploadUnknown,

    /// No blob has this digest.
    #[error("blob unknown")]
    BlobUnknown,

    /// The requested range selects no byte of a blob of `blob_size` bytes
    /// (HTTP 416, `Content-Range: bytes */<blob_size>`).
    #[error("range not satisfiable for a blob of {blob_size} bytes")]
    RangeInvalid { blob_size: u64 },

    /// The content stream failed before its end (typically the client went
    /// away): the client's fault, not the store's.
    #[error("the content stream failed before its end: {0}")]
    BodyInterrupted(#[source] std::io::Error),

    /// The backend has no room left (`ENOSPC`, or `EDQUOT` over a quota):
    /// nothing was stored, and the same request works once space is freed.
    #[error("the blob store is out of space: {0}")]
    Full(#[source] std::io::Error),

    /// The backend itself failed.
    #[error("storage I/O failed: {0}")]
    Io(#[source] std::io::Error),
}

impl From<std::io::Error> for StorageError {
    /// Every I/O error of a backend passes here, so a full disk is told
    /// apart once, wherever it happened (a write, a directory entry, an
    /// fsync, a rename).
    fn from(error: std::io::Error) -> Self {
        if is_out_of_space(&error) {
            Self::Full(error)
        } else {
            Self::Io(error)
        }
    }
}

/// Whether an I/O error says the filesystem (or the user's quota) is full.
pub fn is_out_of_space(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}
