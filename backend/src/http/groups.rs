//! Groups, members, the directory picker, a user's groups. Thin handlers over `service::groups`.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use proofup_shared::api::Page;
use proofup_shared::directory::{
    CreateGroupRequest, DirectoryRef, GroupDetail, GroupView, ImportRequest, ImportResult, MemberKind, MemberRequest,
    UpdateGroupRequest, UserGroup,
};
use proofup_shared::ApiError;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::admin::page_limit;
use super::error::AppError;
use super::session::{Authenticated, Manager, Reader};
use super::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GroupQuery {
    /// Name prefix (case-insensitive).
    pub q: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
}

/// Groups in name order; `q` filters by name prefix.
#[utoipa::path(tag = "groups", params(GroupQuery), responses(
    (status = 200, body = Page<GroupView>), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
#[get("/groups")]
pub async fn list_groups(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<GroupQuery>,
) -> Result<web::Json<Page<GroupView>>, AppError> {
    let limit = page_limit(q.limit)?;
    let prefix = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let page = state.core.list_groups(&auth.reader()?, &prefix, q.after.as_deref(), limit)?;
    let items = page.items.iter().map(|g| state.core.group_view(g)).collect::<Result<_, _>>()?;
    Ok(web::Json(Page { items, next_after: page.next_after }))
}

#[utoipa::path(tag = "groups", request_body = CreateGroupRequest, responses(
    (status = 201, body = GroupView), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[post("/groups")]
pub async fn create_group(
    state: web::Data<AppState>,
    auth: Manager,
    body: web::Json<CreateGroupRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created().json(state.core.create_group(&auth.manager()?, body.into_inner())?))
}

/// A group with its direct members and the groups it is in.
#[utoipa::path(tag = "groups", params(("id" = String, Path, description = "group id")), responses(
    (status = 200, body = GroupDetail), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[get("/groups/{id}")]
pub async fn get_group(
    state: web::Data<AppState>,
    auth: Reader,
    id: web::Path<String>,
) -> Result<web::Json<GroupDetail>, AppError> {
    Ok(web::Json(state.core.group_detail(&auth.reader()?, &id).map_err(not_found_group)?))
}

fn not_found_group(e: crate::service::ServiceError) -> AppError {
    match e {
        crate::service::ServiceError::NotFound(_) => AppError::not_found("The group"),
        e => e.into(),
    }
}

#[utoipa::path(tag = "groups", params(("id" = String, Path, description = "group id")), request_body = UpdateGroupRequest, responses(
    (status = 200, body = GroupView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
#[patch("/groups/{id}")]
pub async fn update_group(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
    body: web::Json<UpdateGroupRequest>,
) -> Result<web::Json<GroupView>, AppError> {
    Ok(web::Json(state.core.update_group(&auth.manager()?, &id, body.into_inner()).map_err(not_found_group)?))
}

/// Deletes a group; it leaves every group it was in. Refused while the policy names it.
#[utoipa::path(tag = "groups", params(("id" = String, Path, description = "group id")), responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
#[delete("/groups/{id}")]
pub async fn delete_group(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    state.core.delete_group(&auth.manager()?, &id).map_err(not_found_group)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a user or a group as a direct member. A group that would make a cycle is refused (422).
#[utoipa::path(tag = "groups", params(("id" = String, Path, description = "group id")), request_body = MemberRequest, responses(
    (status = 201), (status = 200, description = "already a member"), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
#[post("/groups/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    auth: Manager,
    id: web::Path<String>,
    body: web::Json<MemberRequest>,
) -> Result<HttpResponse, AppError> {
    let added = state.core.add_member(&auth.manager()?, &id, body.kind, &body.id).map_err(not_found_group)?;
    Ok(if added { HttpResponse::Created().finish() } else { HttpResponse::Ok().finish() })
}

/// Removes a direct member.
#[utoipa::path(tag = "groups", params(
    ("id" = String, Path, description = "group id"),
    ("kind" = MemberKind, Path, description = "user or group"),
    ("member" = String, Path, description = "member id")), responses(
    (status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[delete("/groups/{id}/members/{kind}/{member}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    auth: Manager,
    path: web::Path<(String, MemberKind, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, kind, member) = path.into_inner();
    state.core.remove_member(&auth.manager()?, &id, kind, &member).map_err(|e| match e {
        crate::service::ServiceError::NotFound(_) => AppError::not_found("The membership"),
        e => e.into(),
    })?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Name prefix of users and groups.
    pub q: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
}

/// Users and groups by name prefix, for pickers.
#[utoipa::path(tag = "groups", params(SearchQuery), responses(
    (status = 200, body = Vec<DirectoryRef>), (status = 403, body = ApiError)))]
#[get("/directory/search")]
pub async fn search(
    state: web::Data<AppState>,
    auth: Reader,
    q: web::Query<SearchQuery>,
) -> Result<web::Json<Vec<DirectoryRef>>, AppError> {
    let limit = page_limit(q.limit)?;
    Ok(web::Json(state.core.search_directory(&auth.reader()?, q.q.as_deref().unwrap_or(""), limit)?))
}

/// A user's groups, direct and through nesting, with the path.
#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id")), responses(
    (status = 200, body = Vec<UserGroup>), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
#[get("/users/{id}/groups")]
pub async fn user_groups(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<Vec<UserGroup>>, AppError> {
    Ok(web::Json(state.core.user_groups(&auth.subject(&id)?)?))
}

/// Largest CSV import body.
pub const IMPORT_LIMIT: usize = 8 << 20;

/// Every user and group as CSV (`kind,name,display_name,email,role,emergency_access,member_of`).
#[utoipa::path(tag = "groups", responses(
    (status = 200, description = "text/csv"), (status = 403, body = ApiError)))]
#[get("/directory/export")]
pub async fn export_csv(state: web::Data<AppState>, auth: Reader) -> Result<HttpResponse, AppError> {
    let csv = state.core.export_directory(&auth.reader()?)?;
    crate::memory::release_soon();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"proofup-directory.csv\""))
        .body(csv))
}

/// Imports users and groups from CSV: everything is checked first; any bad line → 422 listing
/// every bad line, and nothing is written. New users get a temporary access pass, shown once.
#[utoipa::path(tag = "groups", request_body = ImportRequest, responses(
    (status = 201, body = ImportResult), (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 422, body = ApiError)))]
#[post("/directory/import")]
pub async fn import_csv(
    state: web::Data<AppState>,
    auth: Manager,
    mut payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    use futures_util::StreamExt as _;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_request("The request body could not be read."))?;
        if body.len() + chunk.len() > IMPORT_LIMIT {
            return Err(AppError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                proofup_shared::ErrorCode::PayloadTooLarge,
                format!("Import at most {} MiB at a time.", IMPORT_LIMIT >> 20),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    crate::memory::release_soon(); // the body (up to IMPORT_LIMIT) and the parsed rows
    let req: ImportRequest = serde_json::from_slice(&body).map_err(|e| {
        AppError::bad_request(format!(
            "Send {{\"csv\": \"...\"}}: {}",
            e.to_string().split(" at line ").next().unwrap_or("")
        ))
    })?;
    let ttl = time::Duration::hours(state.config.pass_hours.into());
    let result = state.core.import_directory(&auth.manager()?, &req.csv, ttl)?;
    Ok(HttpResponse::Created().json(result))
}

/// This area's routes, in the order actix tries them.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(list_groups)
        .service(create_group)
        .service(get_group)
        .service(update_group)
        .service(delete_group)
        .service(add_member)
        .service(remove_member)
        .service(search)
        .service(export_csv)
        .service(import_csv)
        .service(user_groups);
}
