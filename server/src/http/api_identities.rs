//! `/api/v1` for the second access model: users, groups and members,
//! service principals with their client secrets and federated credentials,
//! role definitions, role
//! assignments, the registry's permissions mode (with its preview) and
//! check-access. Each handler's extractor names the control-plane area and
//! access it needs; the use-cases are `service::identities`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use portcullis_proto::{
    AccessCheck, AccessCheckQuery, FederatedCredential, Group, ModePreview, NewClientSecret,
    NewFederatedCredential, NewGroup, NewGroupMember, NewRoleAssignment, NewServicePrincipal, NewUser,
    RegistrySettings, RegistrySettingsChange, RoleAssignment, RoleAssignmentChange, RoleAssignmentQuery,
    RoleDefinition, ServicePrincipal, ServicePrincipalChange, User, UserChange,
};

use super::{openapi, ApiResult, Body, Params};
use crate::{
    http::caller::{
        Control, ReadConfiguration, ReadIdentities, ReadRoleAssignments, WriteConfiguration, WriteIdentities,
        WriteRoleAssignments,
    },
    service::identities::policy_mode,
    AppState,
};

// ----- users -----

#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<User>)))]
pub(super) async fn list_users(
    State(state): State<AppState>,
    _: Control<ReadIdentities>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.identities.list_users().await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 409, response = openapi::Conflict)))]
pub(super) async fn create_user(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Body(body): Body<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    Ok((StatusCode::CREATED, Json(state.identities.create_user(&caller.subject, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user's name")),
    responses((status = 200, body = User), (status = 404, response = openapi::NotFound)))]
pub(super) async fn show_user(
    State(state): State<AppState>,
    _: Control<ReadIdentities>,
    Path(name): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.identities.user(&name).await?))
}

/// Display name, enabled flag, or an administrator's password reset.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", request_body = UserChange,
    params(("name" = String, Path, description = "The user's name")),
    responses((status = 200, body = User), (status = 404, response = openapi::NotFound)))]
pub(super) async fn update_user(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
    Body(body): Body<UserChange>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.identities.update_user(&caller.subject, &name, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user's name")),
    responses((status = 204, description = "Deleted, with its memberships and role assignments"),
        (status = 404, response = openapi::NotFound)))]
pub(super) async fn delete_user(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.identities.delete_user(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- groups -----

#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", responses((status = 200, body = Vec<Group>)))]
pub(super) async fn list_groups(
    State(state): State<AppState>,
    _: Control<ReadIdentities>,
) -> ApiResult<Json<Vec<Group>>> {
    Ok(Json(state.identities.list_groups().await?))
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = NewGroup,
    responses((status = 201, body = Group), (status = 409, response = openapi::Conflict)))]
pub(super) async fn create_group(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Body(body): Body<NewGroup>,
) -> ApiResult<(StatusCode, Json<Group>)> {
    Ok((StatusCode::CREATED, Json(state.identities.create_group(&caller.subject, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/groups/{name}", tag = "groups",
    params(("name" = String, Path, description = "The group's name")),
    responses((status = 200, body = Group), (status = 404, response = openapi::NotFound)))]
pub(super) async fn show_group(
    State(state): State<AppState>,
    _: Control<ReadIdentities>,
    Path(name): Path<String>,
) -> ApiResult<Json<Group>> {
    Ok(Json(state.identities.group(&name).await?))
}

#[utoipa::path(delete, path = "/api/v1/groups/{name}", tag = "groups",
    params(("name" = String, Path, description = "The group's name")),
    responses((status = 204, description = "Deleted, with its role assignments"),
        (status = 404, response = openapi::NotFound)))]
pub(super) async fn delete_group(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.identities.delete_group(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/groups/{name}/members", tag = "groups", request_body = NewGroupMember,
    params(("name" = String, Path, description = "The group's name")),
    responses((status = 200, body = Group), (status = 404, response = openapi::NotFound)))]
pub(super) async fn add_member(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
    Body(body): Body<NewGroupMember>,
) -> ApiResult<Json<Group>> {
    Ok(Json(state.identities.change_member(&caller.subject, &name, &body.member, true).await?))
}

#[utoipa::path(delete, path = "/api/v1/groups/{name}/members/{member}", tag = "groups",
    params(("name" = String, Path, description = "The group's name"),
        ("member" = String, Path, description = "A member's name (or a service principal's application id)")),
    responses((status = 200, body = Group), (status = 404, response = openapi::NotFound)))]
pub(super) async fn remove_member(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path((name, member)): Path<(String, String)>,
) -> ApiResult<Json<Group>> {
    Ok(Json(state.identities.change_member(&caller.subject, &name, &member, false).await?))
}

// ----- service principals -----

#[utoipa::path(get, path = "/api/v1/service-principals", tag = "service principals",
    responses((status = 200, body = Vec<ServicePrincipal>)))]
pub(super) async fn list_service_principals(
    State(state): State<AppState>,
    _: Control<ReadIdentities>,
) -> ApiResult<Json<Vec<ServicePrincipal>>> {
    Ok(Json(state.identities.list_service_principals().await?))
}

/// The answer holds the first client secret's `value`: the only time it
/// is shown.
#[utoipa::path(post, path = "/api/v1/service-principals", tag = "service principals",
    request_body = NewServicePrincipal,
    responses((status = 201, body = ServicePrincipal), (status = 409, response = openapi::Conflict)))]
pub(super) async fn create_service_principal(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Body(body): Body<NewServicePrincipal>,
) -> ApiResult<(StatusCode, Json<ServicePrincipal>)> {
    Ok((StatusCode::CREATED, Json(state.identities.create_service_principal(&caller.subject, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/service-principals/{name}", tag = "service principals",
    params(("name" = String, Path, description = "The service principal's name or application id")),
    responses((status = 200, body = ServicePrincipal), (status = 404, response = openapi::NotFound)))]
pub(super) async fn show_service_principal(
    State(state): State<AppState>,
    _: Control<ReadIdentities>,
    Path(name): Path<String>,
) -> ApiResult<Json<ServicePrincipal>> {
    Ok(Json(state.identities.service_principal(&name).await?))
}

#[utoipa::path(patch, path = "/api/v1/service-principals/{name}", tag = "service principals",
    request_body = ServicePrincipalChange,
    params(("name" = String, Path, description = "The service principal's name or application id")),
    responses((status = 200, body = ServicePrincipal), (status = 404, response = openapi::NotFound)))]
pub(super) async fn update_service_principal(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
    Body(body): Body<ServicePrincipalChange>,
) -> ApiResult<Json<ServicePrincipal>> {
    Ok(Json(state.identities.update_service_principal(&caller.subject, &name, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/service-principals/{name}", tag = "service principals",
    params(("name" = String, Path, description = "The service principal's name or application id")),
    responses((status = 204, description = "Deleted, with its secrets, memberships and role assignments"),
        (status = 404, response = openapi::NotFound)))]
pub(super) async fn delete_service_principal(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.identities.delete_service_principal(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new client secret (shown once), replacing the others unless `append`.
#[utoipa::path(post, path = "/api/v1/service-principals/{name}/secrets", tag = "service principals",
    request_body = NewClientSecret,
    params(("name" = String, Path, description = "The service principal's name or application id")),
    responses((status = 200, body = ServicePrincipal), (status = 404, response = openapi::NotFound)))]
pub(super) async fn reset_secret(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
    Body(body): Body<NewClientSecret>,
) -> ApiResult<Json<ServicePrincipal>> {
    Ok(Json(state.identities.reset_secret(&caller.subject, &name, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/service-principals/{name}/secrets/{key_id}", tag = "service principals",
    params(("name" = String, Path, description = "The service principal's name or application id"),
        ("key_id" = String, Path, description = "The secret's key id")),
    responses((status = 200, body = ServicePrincipal), (status = 404, response = openapi::NotFound)))]
pub(super) async fn delete_secret(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path((name, key_id)): Path<(String, String)>,
) -> ApiResult<Json<ServicePrincipal>> {
    Ok(Json(state.identities.delete_secret(&caller.subject, &name, &key_id).await?))
}

// ----- federated credentials -----

#[utoipa::path(get, path = "/api/v1/service-principals/{name}/federated-credentials", tag = "service principals",
    params(("name" = String, Path, description = "The service principal's name or application id")),
    responses((status = 200, body = Vec<FederatedCredential>), (status = 404, response = openapi::NotFound)))]
pub(super) async fn list_federated_credentials(
    State(state): State<AppState>,
    _: Control<ReadIdentities>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<FederatedCredential>>> {
    Ok(Json(state.federation.list(&name).await?))
}

/// Trusts ID tokens of an OpenID Connect issuer for an audience and a
/// subject (exact, or with `*` matching any run of characters); they are
/// exchanged at `POST /oauth2/exchange` for a registry refresh token.
#[utoipa::path(post, path = "/api/v1/service-principals/{name}/federated-credentials",
    tag = "service principals", request_body = NewFederatedCredential,
    params(("name" = String, Path, description = "The service principal's name or application id")),
    responses((status = 201, body = FederatedCredential), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
pub(super) async fn create_federated_credential(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path(name): Path<String>,
    Body(body): Body<NewFederatedCredential>,
) -> ApiResult<(StatusCode, Json<FederatedCredential>)> {
    Ok((StatusCode::CREATED, Json(state.federation.create(&caller.subject, &name, body).await?)))
}

/// The refresh tokens exchanged through the credential stop working at
/// the next request.
#[utoipa::path(delete, path = "/api/v1/service-principals/{name}/federated-credentials/{credential}",
    tag = "service principals",
    params(("name" = String, Path, description = "The service principal's name or application id"),
        ("credential" = String, Path, description = "The federated credential's name")),
    responses((status = 204, description = "Deleted"), (status = 404, response = openapi::NotFound)))]
pub(super) async fn delete_federated_credential(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteIdentities>,
    Path((name, credential)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.federation.delete(&caller.subject, &name, &credential).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- roles and assignments -----

#[utoipa::path(get, path = "/api/v1/role-definitions", tag = "role assignments",
    responses((status = 200, body = Vec<RoleDefinition>)))]
pub(super) async fn list_role_definitions(
    State(state): State<AppState>,
    _: Control<ReadRoleAssignments>,
) -> ApiResult<Json<Vec<RoleDefinition>>> {
    Ok(Json(state.identities.role_definitions()))
}

/// 404 when `assignee` names no identity.
#[utoipa::path(get, path = "/api/v1/role-assignments", tag = "role assignments", params(RoleAssignmentQuery),
    responses((status = 200, body = Vec<RoleAssignment>), (status = 404, response = openapi::NotFound)))]
pub(super) async fn list_role_assignments(
    State(state): State<AppState>,
    _: Control<ReadRoleAssignments>,
    Params(query): Params<RoleAssignmentQuery>,
) -> ApiResult<Json<Vec<RoleAssignment>>> {
    Ok(Json(state.identities.list_assignments(&query).await?))
}

/// The answer's `warnings` name what the condition leaves unrestricted and
/// prefixes without a trailing `/` (with the existing repositories they
/// also match).
#[utoipa::path(post, path = "/api/v1/role-assignments", tag = "role assignments", request_body = NewRoleAssignment,
    responses((status = 201, body = RoleAssignment), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
pub(super) async fn create_role_assignment(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteRoleAssignments>,
    Body(body): Body<NewRoleAssignment>,
) -> ApiResult<(StatusCode, Json<RoleAssignment>)> {
    Ok((StatusCode::CREATED, Json(state.identities.create_assignment(&caller.subject, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/role-assignments/{name}", tag = "role assignments",
    params(("name" = String, Path, description = "The assignment's id")),
    responses((status = 200, body = RoleAssignment), (status = 404, response = openapi::NotFound)))]
pub(super) async fn show_role_assignment(
    State(state): State<AppState>,
    _: Control<ReadRoleAssignments>,
    Path(name): Path<String>,
) -> ApiResult<Json<RoleAssignment>> {
    Ok(Json(state.identities.assignment(&name).await?))
}

#[utoipa::path(patch, path = "/api/v1/role-assignments/{name}", tag = "role assignments",
    request_body = RoleAssignmentChange,
    params(("name" = String, Path, description = "The assignment's id")),
    responses((status = 200, body = RoleAssignment), (status = 404, response = openapi::NotFound)))]
pub(super) async fn update_role_assignment(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteRoleAssignments>,
    Path(name): Path<String>,
    Body(body): Body<RoleAssignmentChange>,
) -> ApiResult<Json<RoleAssignment>> {
    Ok(Json(state.identities.update_assignment(&caller.subject, &name, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/role-assignments/{name}", tag = "role assignments",
    params(("name" = String, Path, description = "The assignment's id")),
    responses((status = 204, description = "Deleted"), (status = 404, response = openapi::NotFound)))]
pub(super) async fn delete_role_assignment(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteRoleAssignments>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.identities.delete_assignment(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// For an identity and a repository: the actions it has, the assignments
/// (and groups) that give each, and why the others do not.
#[utoipa::path(get, path = "/api/v1/check-access", tag = "role assignments", params(AccessCheckQuery),
    responses((status = 200, body = AccessCheck), (status = 404, response = openapi::NotFound)))]
pub(super) async fn check_access(
    State(state): State<AppState>,
    _: Control<ReadRoleAssignments>,
    Params(query): Params<AccessCheckQuery>,
) -> ApiResult<Json<AccessCheck>> {
    Ok(Json(state.identities.check_access(&query.assignee, &query.repository).await?))
}

// ----- the registry's settings -----

#[utoipa::path(get, path = "/api/v1/registry", tag = "registry", responses((status = 200, body = RegistrySettings)))]
pub(super) async fn show_registry(
    State(state): State<AppState>,
    _: Control<ReadConfiguration>,
) -> ApiResult<Json<RegistrySettings>> {
    Ok(Json(state.identities.settings().await?))
}

/// Switching the mode changes what role assignments give: preview it
/// first (`POST /api/v1/registry/preview`).
#[utoipa::path(patch, path = "/api/v1/registry", tag = "registry", request_body = RegistrySettingsChange,
    responses((status = 200, body = RegistrySettings)))]
pub(super) async fn update_registry(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Body(body): Body<RegistrySettingsChange>,
) -> ApiResult<Json<RegistrySettings>> {
    let mode = policy_mode(body.role_assignment_mode);
    Ok(Json(state.identities.set_mode(&caller.subject, mode).await?))
}

/// Who would gain and who would lose which access, assignment by
/// assignment, if the settings changed so. Changes nothing.
#[utoipa::path(post, path = "/api/v1/registry/preview", tag = "registry", request_body = RegistrySettingsChange,
    responses((status = 200, body = ModePreview)))]
pub(super) async fn preview_registry(
    State(state): State<AppState>,
    _: Control<ReadConfiguration>,
    Body(body): Body<RegistrySettingsChange>,
) -> ApiResult<Json<ModePreview>> {
    Ok(Json(state.identities.preview_mode(policy_mode(body.role_assignment_mode)).await?))
}
