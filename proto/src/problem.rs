//! The body of every error answer: an RFC 9457 problem with the API's own
//! `code` (docs/API.md "Errors").

use serde::{Deserialize, Serialize};

/// The media type of [`Problem`] answers.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// What went wrong, for programs; `status` repeats the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 401: no or wrong credentials.
    Unauthorized,
    /// 403: the caller may not do this.
    Denied,
    /// 404
    NotFound,
    /// 400: bad input; `detail` says what and why.
    Invalid,
    /// 409: already exists.
    Conflict,
    /// 409: the scope map is used by tokens (named in `detail`).
    ScopeMapInUse,
    /// 409: a system-defined scope map.
    ReadOnly,
    /// 409: the repository, tag or manifest attributes forbid it.
    Locked,
    /// 409: an apply named a revision the registry has moved past (someone
    /// changed its access since the plan).
    StaleRevision,
    /// 409: an apply would regenerate or delete every working password of a
    /// token at once (see `allowDowntime`).
    RotationRefused,
    /// 413: the request body is larger than the registry's limit (named in
    /// `detail`).
    PayloadTooLarge,
    /// 429: too many failed sign-ins, or too many at once, or more
    /// operations than the caller's rate limit; see `Retry-After`.
    TooManyRequests,
    /// 507: the registry's disk is full; nothing was changed.
    InsufficientStorage,
    /// 500
    Internal,
}

/// `{"type": "about:blank", "title": "Conflict", "status": 409, "code":
/// "SCOPE_MAP_IN_USE", "detail": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Always `about:blank`: `code` says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    pub status: u16,
    pub code: ErrorCode,
    /// What happened, in words for the person who sent the request.
    pub detail: String,
    /// Where in the request body the problem is, as a JSON pointer (RFC
    /// 6901), when one place is to blame (`/document/tokens/ci-bot/scopeMap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl Problem {
    pub fn new(status: u16, title: impl Into<String>, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".to_owned(),
            title: title.into(),
            status,
            code,
            detail: detail.into(),
            pointer: None,
        }
    }
}
