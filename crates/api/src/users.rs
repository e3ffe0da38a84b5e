//! Users, API tokens and the audit trail (admin), and the caller's own view.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch};
use otwatch_store::{Role, Token, User};
use serde::Deserialize;

use crate::auth::{hash_password, new_token};
use crate::extract::{Json, Path, Query};
use crate::layer::AuditNote;
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, Caller, blocking, now, page_limit, store_call};

const ADMIN: Option<Role> = Some(Role::Admin);

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new("GET", "/api/users", ADMIN, "List users"),
    RouteSpec::new("POST", "/api/users", ADMIN, "Create a user"),
    RouteSpec::new(
        "PATCH",
        "/api/users/{name}",
        ADMIN,
        "Change a user's role or password",
    ),
    RouteSpec::new("DELETE", "/api/users/{name}", ADMIN, "Delete a user"),
    RouteSpec::new("GET", "/api/tokens", ADMIN, "List API tokens"),
    RouteSpec::new(
        "POST",
        "/api/tokens",
        ADMIN,
        "Create an API token (the secret is shown once)",
    ),
    RouteSpec::new("DELETE", "/api/tokens/{id}", ADMIN, "Revoke an API token"),
    RouteSpec::new("GET", "/api/audit", ADMIN, "Read the audit trail"),
];

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/users/{name}", patch(edit_user).delete(delete_user))
        .route("/api/tokens", get(list_tokens).post(create_token))
        .route("/api/tokens/{id}", delete(delete_token))
        .route("/api/audit", get(audit))
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 1024;

/// A user or token name: 1 to 64 characters of letters, digits, `.`, `_`, `-`.
pub fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 64 {
        return Err(ApiError::bad(field, "must be 1 to 64 characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(ApiError::bad(
            field,
            format!("`{c}` is not allowed (letters, digits, `.`, `_`, `-`)"),
        ));
    }
    Ok(())
}

fn check_password(p: &str) -> Result<(), ApiError> {
    let n = p.chars().count();
    if n < MIN_PASSWORD {
        return Err(ApiError::bad(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if p.len() > MAX_PASSWORD {
        return Err(ApiError::bad(
            "password",
            format!("longer than {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, ApiError> {
    Role::parse(s).ok_or_else(|| {
        ApiError::bad(
            "role",
            format!("unknown role `{s}` (readonly, analyst or admin)"),
        )
    })
}

async fn hash(password: String) -> Result<String, ApiError> {
    blocking(move || hash_password(&password).map_err(|e| ApiError::Internal(e.to_string()))).await
}

async fn list_users(State(api): State<ApiState>) -> Result<axum::Json<Vec<User>>, ApiError> {
    store_call(&api, |s| s.users()).await.map(axum::Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: String,
    password: String,
}

async fn create_user(
    State(api): State<ApiState>,
    Json(body): Json<NewUser>,
) -> Result<Response, ApiError> {
    check_name("name", &body.name)?;
    let role = parse_role(&body.role)?;
    check_password(&body.password)?;
    let user = User {
        name: body.name.clone(),
        role,
        password_hash: hash(body.password).await?,
        created: now(),
        last_login: None,
    };
    let shown = user.clone();
    store_call(&api, move |s| s.add_user(&user)).await?;
    let mut resp = (StatusCode::CREATED, axum::Json(shown)).into_response();
    resp.extensions_mut()
        .insert(AuditNote::new("user.add", &body.name).detail(format!("role {}", role.as_str())));
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEdit {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Whether removing admin rights from `name` would leave no admin.
fn last_admin(users: &[User], name: &str) -> bool {
    users
        .iter()
        .all(|u| u.role != Role::Admin || u.name == name)
}

async fn edit_user(
    State(api): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<UserEdit>,
) -> Result<Response, ApiError> {
    if body.role.is_none() && body.password.is_none() {
        return Err(ApiError::bad("body", "give `role`, `password` or both"));
    }
    let role = body.role.as_deref().map(parse_role).transpose()?;
    if let Some(p) = &body.password {
        check_password(p)?;
    }
    let n = name.clone();
    let (target, users) = store_call(&api, move |s| Ok((s.user(&n)?, s.users()?))).await?;
    let target = target.ok_or_else(|| ApiError::not_found("user", &name))?;
    // Reference §9.1: an admin changes the passwords of itself, analysts and
    // read-only users, not of other admins.
    if body.password.is_some() && target.role == Role::Admin && target.name != caller.actor {
        return Err(ApiError::Forbidden {
            role: caller.role.as_str().into(),
            action: format!("change the password of another admin ({name})"),
        });
    }
    if role.is_some_and(|r| r != Role::Admin)
        && target.role == Role::Admin
        && last_admin(&users, &name)
    {
        return Err(ApiError::Conflict(format!(
            "{name} is the last admin; make another user admin first"
        )));
    }
    let password_hash = match body.password {
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    let mut changed = Vec::new();
    if role.is_some() {
        changed.push("role");
    }
    if password_hash.is_some() {
        changed.push("password");
    }
    let n = name.clone();
    let user = store_call(&api, move |s| {
        if let Some(r) = role {
            s.set_user_role(&n, r)?;
        }
        if let Some(h) = &password_hash {
            s.set_user_password(&n, h)?;
        }
        s.user(&n)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("user", &name))?;
    let mut resp = axum::Json(user).into_response();
    let detail = match role {
        Some(r) => format!("{}; role {}", changed.join(", "), r.as_str()),
        None => changed.join(", "),
    };
    resp.extensions_mut()
        .insert(AuditNote::new("user.edit", &name).detail(detail));
    Ok(resp)
}

async fn delete_user(
    State(api): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if name == caller.actor {
        return Err(ApiError::Conflict("you cannot delete your own user".into()));
    }
    let n = name.clone();
    let (target, users) = store_call(&api, move |s| Ok((s.user(&n)?, s.users()?))).await?;
    let target = target.ok_or_else(|| ApiError::not_found("user", &name))?;
    if target.role == Role::Admin && last_admin(&users, &name) {
        return Err(ApiError::Conflict(format!("{name} is the last admin")));
    }
    let n = name.clone();
    store_call(&api, move |s| s.delete_user(&n)).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.extensions_mut()
        .insert(AuditNote::new("user.delete", &name));
    Ok(resp)
}

async fn list_tokens(State(api): State<ApiState>) -> Result<axum::Json<Vec<Token>>, ApiError> {
    store_call(&api, |s| s.tokens()).await.map(axum::Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
}

async fn create_token(
    State(api): State<ApiState>,
    caller: Caller,
    Json(body): Json<NewToken>,
) -> Result<Response, ApiError> {
    check_name("name", &body.name)?;
    let role = parse_role(&body.role)?;
    if role > caller.role {
        return Err(ApiError::bad(
            "role",
            format!(
                "cannot create a token above your own role ({})",
                caller.role.as_str()
            ),
        ));
    }
    let (secret, secret_hash) = new_token();
    let mut token = Token {
        id: 0,
        name: body.name.clone(),
        role,
        secret_hash,
        created: now(),
        last_used: None,
        created_by: caller.actor.clone(),
    };
    let t = token.clone();
    token.id = store_call(&api, move |s| {
        if s.tokens()?.iter().any(|x| x.name == t.name) {
            return Err(otwatch_store::StoreError::Exists {
                what: "token",
                name: t.name.clone(),
            });
        }
        s.add_token(&t)
    })
    .await?;
    let mut v = serde_json::to_value(&token).map_err(|e| ApiError::Internal(e.to_string()))?;
    v["token"] = secret.into();
    let mut resp = (StatusCode::CREATED, axum::Json(v)).into_response();
    resp.extensions_mut()
        .insert(AuditNote::new("token.create", &body.name).detail(format!(
            "id {}; role {}",
            token.id,
            role.as_str()
        )));
    Ok(resp)
}

async fn delete_token(
    State(api): State<ApiState>,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    let name = store_call(&api, move |s| {
        let name = s.tokens()?.into_iter().find(|t| t.id == id).map(|t| t.name);
        if name.is_some() {
            s.delete_token(id)?;
        }
        Ok(name)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("token", id.to_string()))?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.extensions_mut()
        .insert(AuditNote::new("token.delete", id.to_string()).detail(name));
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default)]
    limit: Option<usize>,
}

async fn audit(
    State(api): State<ApiState>,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<Vec<otwatch_store::AuditRecord>>, ApiError> {
    let limit = page_limit(&api.config, q.limit);
    store_call(&api, move |s| s.audit_log(limit))
        .await
        .map(axum::Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("name", "ops.bob-2").is_ok());
        assert!(check_name("name", "").is_err());
        assert!(check_name("name", "a b").is_err());
        assert!(check_name("name", &"x".repeat(65)).is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
    }
}
