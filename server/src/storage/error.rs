//! `StorageError`: why a blob-store operation failed. Owns only the error
//! type; the HTTP layer maps each variant to an OCI answer once
//! (`DIGEST_INVALID`, `BLOB_UPLOAD_UNKNOWN`, `BLOB_UNKNOWN`, 416, or 500).

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

    /// The backend itself failed.
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
}
