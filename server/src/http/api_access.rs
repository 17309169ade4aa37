//! `/api/v1/access`: access as code (docs/API.md "Access as code"). The
//! export, the plan and the apply of a document of scope maps, tokens and
//! repository attributes; the use-cases are `service::access_code`.

use axum::{extract::State, response::Response, Json};
use portcullis_proto::{AccessPlan, AccessState, ApplyOutcome, ApplyRequest, PlanRequest};

use super::{never_cached, openapi, ApiResult, Body};
use crate::{
    http::caller::{Control, ReadConfiguration, WriteConfiguration},
    service::access_code::{PlanOptions, DEFAULT_EXPIRY_WARNING_DAYS},
    AppState,
};

/// The registry's scope maps, tokens (without passwords) and the
/// repository attributes that differ from the default, as a document, with
/// the revision an apply must name.
#[utoipa::path(get, path = "/api/v1/access", tag = "access as code",
    responses((status = 200, body = AccessState)))]
pub(super) async fn export_access(
    State(state): State<AppState>,
    _: Control<ReadConfiguration>,
) -> ApiResult<Json<AccessState>> {
    let (document, revision) = state.tokens.export_access().await?;
    Ok(Json(AccessState { revision, document }))
}

/// What applying the document would change; changes nothing. A document
/// that is not valid is 400 with `pointer` naming the place in the body.
#[utoipa::path(post, path = "/api/v1/access/plan", tag = "access as code", request_body = PlanRequest,
    responses((status = 200, body = AccessPlan)))]
pub(super) async fn plan_access(
    State(state): State<AppState>,
    _: Control<ReadConfiguration>,
    Body(body): Body<PlanRequest>,
) -> ApiResult<Json<AccessPlan>> {
    let options = PlanOptions {
        prune: body.prune,
        expiring_within_days: body.expiring_within_days.unwrap_or(DEFAULT_EXPIRY_WARNING_DAYS),
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
    Control(caller, _): Control<WriteConfiguration>,
    Body(body): Body<ApplyRequest>,
) -> ApiResult<Response> {
    let outcome = state.tokens.apply_access(&caller.subject, &body).await?;
    Ok(never_cached(axum::response::IntoResponse::into_response(Json(outcome))))
}
