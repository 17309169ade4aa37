//! `/api/v1/access`: access as code (docs/API.md "Access as code"). The
//! export, the plan and the apply of a document of scope maps, tokens and
//! repository attributes; the use-cases are `service::access_code`.

use axum::{extract::State, response::Response, Json};
use portcullis_proto::{AccessDocument, AccessPlan, AccessState, ApplyOutcome, ApplyRequest, PlanRequest};

use super::{never_cached, openapi, ApiError, ApiResult, Body};
use crate::{
    domain::RepositoryName,
    http::caller::ManagementCaller,
    policy::{
        roles::{ControlAccess, ControlArea},
        RepositoryOperation,
    },
    service::access_code::{PlanOptions, DEFAULT_EXPIRY_WARNING_DAYS},
    AppState,
};

/// Asks the decision for everything `document` reads (`access` Read) or
/// may change (Write): the configuration always (scope maps, tokens, the
/// mode), the identities and the role assignments when the document has
/// those sections, and each repository whose attributes it names (its
/// metadata). A caller may not reach through a document what it may not
/// reach by the one-object calls.
async fn authorize_document(
    state: &AppState,
    caller: &ManagementCaller,
    document: Option<&AccessDocument>,
    access: ControlAccess,
) -> Result<(), ApiError> {
    caller.control(state, ControlArea::Configuration, access).await?;
    let identities = document.is_none_or(|document| {
        document.users.is_some() || document.groups.is_some() || document.service_principals.is_some()
    });
    if identities {
        caller.control(state, ControlArea::Identities, access).await?;
    }
    if document.is_none_or(|document| document.role_assignments.is_some()) {
        caller.control(state, ControlArea::RoleAssignments, access).await?;
    }
    let operation = match access {
        ControlAccess::Write => RepositoryOperation::WriteMetadata,
        _ => RepositoryOperation::ReadMetadata,
    };
    for name in document.into_iter().flat_map(|document| document.repositories.keys()) {
        // A name that is not one is refused by the plan, at its place.
        if let Ok(repository) = name.parse::<RepositoryName>() {
            caller.authorize(state, &repository, operation).await?;
        }
    }
    Ok(())
}

/// The registry's scope maps, tokens (without passwords), the repository
/// attributes that differ from the default and the identities with their
/// role assignments, as a document, with the revision an apply must name.
/// Needs read access to the configuration, identities and role assignments.
#[utoipa::path(get, path = "/api/v1/access", tag = "access as code",
    responses((status = 200, body = AccessState)))]
pub(super) async fn export_access(
    State(state): State<AppState>,
    caller: ManagementCaller,
) -> ApiResult<Json<AccessState>> {
    authorize_document(&state, &caller, None, ControlAccess::Read).await?;
    let (document, revision) = state.tokens.export_access().await?;
    Ok(Json(AccessState { revision, document }))
}

/// What applying the document would change; changes nothing. A document
/// that is not valid is 400 with `pointer` naming the place in the body.
#[utoipa::path(post, path = "/api/v1/access/plan", tag = "access as code", request_body = PlanRequest,
    responses((status = 200, body = AccessPlan)))]
pub(super) async fn plan_access(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Body(body): Body<PlanRequest>,
) -> ApiResult<Json<AccessPlan>> {
    authorize_document(&state, &caller, Some(&body.document), ControlAccess::Read).await?;
    let options = PlanOptions {
        prune: body.prune,
        expiring_within_days: body.expiring_within_days.unwrap_or(DEFAULT_EXPIRY_WARNING_DAYS),
        max_scope_map_rules: state.tokens.max_scope_map_rules(),
    };
    Ok(Json(state.tokens.plan_access(&body.document, options).await?))
}

/// Makes the registry's access what the document declares, in one
/// transaction: all of it or nothing. 409 `STALE_REVISION` when the
/// registry changed since `expectedRevision`; 409 `ROTATION_REFUSED` when a
/// token would lose every working password (unless `allowDowntime`). The
/// generated passwords are in the answer, the only time they are shown.
#[utoipa::path(post, path = "/api/v1/access/apply", tag = "access as code", request_body = ApplyRequest,
    responses((status = 200, body = ApplyOutcome), (status = 409, response = openapi::Conflict)))]
pub(super) async fn apply_access(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Body(body): Body<ApplyRequest>,
) -> ApiResult<Response> {
    authorize_document(&state, &caller, Some(&body.document), ControlAccess::Write).await?;
    let outcome = state.tokens.apply_access(&caller.0.subject, &body).await?;
    Ok(never_cached(axum::response::IntoResponse::into_response(Json(outcome))))
}
