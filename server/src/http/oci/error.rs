//! The data plane's error type and its one mapping to HTTP: OCI error
//! bodies (`{"errors":[{"code","message","detail"}]}`) with the status the
//! distribution spec gives each code. Internal causes are logged, never
//! sent.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::service::registry::RegistryError;

/// What a 401 says, here and at the token endpoint. Docker's client turns an
/// error whose message equals the code's default and whose detail is null
/// into a bare `errcode.ErrorCode`, and its push retries every error that
/// is not an `errcode.Error` (`distribution/errors.go` `retryOnError` in
/// Moby); any other text makes a refused `docker push` stop at once.
pub const UNAUTHORIZED_MESSAGE: &str =
    "authentication required: give an administrator's or a token's name and password";

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// Its message must not be Distribution's default for the code
    /// ("authentication required"): Docker reads a bare default as an
    /// error code without a message, which its push retries five times
    /// (about 50 s) before it gives up (see [`UNAUTHORIZED_MESSAGE`]).
    #[error("{}", UNAUTHORIZED_MESSAGE)]
    Unauthorized { challenge: String },
    /// The policy refuses the action. The message starts with the
    /// standard text (clients print it) and says what was missing.
    #[error("requested access to the resource is denied: {action} on {repository} is not granted")]
    Denied { action: &'static str, repository: String },
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    #[error("repository name not known to registry")]
    NameUnknown,
    #[error("invalid tag: {0}")]
    TagInvalid(String),
    #[error("invalid digest: {0}")]
    DigestInvalid(String),
    #[error("blob unknown to registry")]
    BlobUnknown,
    #[error("blob upload unknown to registry")]
    BlobUploadUnknown,
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    #[error("chunk out of order")]
    RangeNotSatisfiable { upload_size: u64 },
    #[error("requested range not satisfiable")]
    BlobRangeNotSatisfiable { blob_size: u64 },
    #[error("manifest unknown")]
    ManifestUnknown,
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest references unknown blobs: {0}")]
    ManifestBlobUnknown(String),
    #[error("manifest too large: the limit is {limit} bytes")]
    ManifestTooLarge { limit: u64 },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the operation is not allowed on this resource")]
    MethodNotAllowed,
    #[error("not found")]
    NotFound,
    /// A lock attribute forbids it: DENIED, with the reason.
    #[error("requested access to the resource is denied: {0}")]
    Locked(String),
    /// Too many failed sign-ins, or too many at once.
    #[error("too many requests: retry in {} s", retry_after.as_secs())]
    TooManyRequests { retry_after: std::time::Duration },
    /// Over the caller's rate limit (`reason` names it).
    #[error("too many requests: {reason} for this credential (the registry operator's rate limit); retry in {} s", retry_seconds(*retry_after))]
    RateLimited { reason: String, retry_after: std::time::Duration },
    /// The disk of the blob store or the database is full. 507 (RFC 4918
    /// §11.5), so that Docker, which prints only the status line of a 5xx,
    /// still says why; clients that read the body (containerd, crane, oras)
    /// show the message. Distribution answers 500 here; UNKNOWN is its code
    /// for a server-side failure, kept because the spec's codes have none
    /// closer.
    #[error(
        "insufficient storage: the registry's disk is full; nothing of this request was stored, \
         retry once space is freed"
    )]
    InsufficientStorage,
    #[error("internal server error")]
    Internal,
}

impl OciError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            Self::Denied { .. } | Self::Locked(_) => (StatusCode::FORBIDDEN, "DENIED"),
            Self::NameInvalid(_) => (StatusCode::BAD_REQUEST, "NAME_INVALID"),
            Self::NameUnknown => (StatusCode::NOT_FOUND, "NAME_UNKNOWN"),
            Self::TagInvalid(_) => (StatusCode::BAD_REQUEST, "TAG_INVALID"),
            Self::DigestInvalid(_) => (StatusCode::BAD_REQUEST, "DIGEST_INVALID"),
            Self::BlobUnknown => (StatusCode::NOT_FOUND, "BLOB_UNKNOWN"),
            Self::BlobUploadUnknown => (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"),
            Self::BlobUploadInvalid(_) => (StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID"),
            Self::RangeNotSatisfiable { .. } => (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID"),
            Self::BlobRangeNotSatisfiable { .. } => (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UNKNOWN"),
            Self::ManifestUnknown => (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"),
            Self::ManifestInvalid(_) => (StatusCode::BAD_REQUEST, "MANIFEST_INVALID"),
            Self::ManifestBlobUnknown(_) => (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN"),
            Self::ManifestTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID"),
            Self::Unsupported(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED"),
            Self::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::TooManyRequests { .. } | Self::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS")
            }
            Self::InsufficientStorage => (StatusCode::INSUFFICIENT_STORAGE, "UNKNOWN"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN"),
        }
    }
}

impl From<RegistryError> for OciError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::NameUnknown => Self::NameUnknown,
            RegistryError::BlobUnknown => Self::BlobUnknown,
            RegistryError::UploadUnknown => Self::BlobUploadUnknown,
            RegistryError::UploadInvalid(reason) => Self::BlobUploadInvalid(reason),
            RegistryError::ChunkOutOfOrder { size } => Self::RangeNotSatisfiable { upload_size: size },
            RegistryError::RangeNotSatisfiable { blob_size } => Self::BlobRangeNotSatisfiable { blob_size },
            RegistryError::DigestInvalid(reason) => Self::DigestInvalid(reason),
            RegistryError::ManifestUnknown => Self::ManifestUnknown,
            RegistryError::Manifest(error) => {
                use crate::domain::manifest::ManifestError;
                match error {
                    ManifestError::TooLarge { limit, .. } => Self::ManifestTooLarge { limit },
                    ManifestError::Invalid { reason } => Self::ManifestInvalid(reason),
                    ManifestError::Unsupported { media_type } => {
                        Self::Unsupported(format!("manifest media type {media_type:?} is not supported"))
                    }
                }
            }
            RegistryError::ManifestBlobUnknown(digests) => Self::ManifestBlobUnknown(digests.join(", ")),
            RegistryError::BodyInterrupted => Self::BlobUploadInvalid("the request body ended early".into()),
            RegistryError::Locked(reason) => Self::Locked(reason),
            RegistryError::InsufficientStorage(cause) => {
                tracing::error!(%cause, "out of space: a registry request was refused");
                Self::InsufficientStorage
            }
            RegistryError::Internal(cause) => {
                tracing::error!(%cause, "registry request failed");
                Self::Internal
            }
        }
    }
}

/// Whole seconds to wait, rounded up: `Retry-After: 0` would invite the
/// same refusal at once.
pub fn retry_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = json!({ "errors": [{ "code": code, "message": self.to_string(), "detail": null }] });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized { challenge } => {
                if let Ok(value) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Self::RangeNotSatisfiable { upload_size } => {
                let range = format!("0-{}", upload_size.saturating_sub(1));
                headers.insert(header::RANGE, HeaderValue::from_str(&range).expect("ascii"));
            }
            Self::BlobRangeNotSatisfiable { blob_size } => {
                let range = format!("bytes */{blob_size}");
                headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(&range).expect("ascii"));
            }
            Self::TooManyRequests { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
            }
            Self::RateLimited { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_seconds(*retry_after)));
            }
            _ => {}
        }
        headers.insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
        response
    }
}
