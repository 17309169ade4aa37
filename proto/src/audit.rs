//! The audit log (docs/API.md "Audit log").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Success,
    Denied,
    Failure,
}

impl AuditOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failure => "failure",
        }
    }

    /// The outcome stored as [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [AuditOutcome::Success, AuditOutcome::Denied, AuditOutcome::Failure]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "crate::time")]
    pub time: DateTime<Utc>,
    /// `admin:<name>`, `token:<name>` or `anonymous`.
    pub caller: String,
    /// The token concerned.
    pub token: Option<String>,
    pub repository: Option<String>,
    /// A registry action (`content/write`), `login` or a management change
    /// (`token.create`, `scopeMap.update`, ...).
    pub action: String,
    pub outcome: AuditOutcome,
    pub detail: Option<String>,
    /// The request it was recorded in: the `X-Request-Id` of that answer
    /// and the `request_id` of its log lines.
    #[serde(default, rename = "requestId")]
    pub request_id: Option<String>,
}

/// One page of `GET /api/v1/audit`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// The `before` of the next page; `null` on the last one.
    pub next: Option<i64>,
}

/// The query of `GET /api/v1/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Only entries concerning this token.
    pub token: Option<String>,
    /// 1 to 1000; default 100.
    pub limit: Option<i64>,
    /// The `next` of the previous page.
    pub before: Option<i64>,
}
