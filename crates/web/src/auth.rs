//! Bearer-token authorisation of the REST API. Tokens are stored as SHA-256 hex; a small cache
//! keeps the hot path off the database.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use balcao_domain::WorkspaceId;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Clone, Default)]
pub struct TokenCache(Arc<RwLock<HashMap<String, WorkspaceId>>>);

/// The workspace the request's bearer token belongs to.
pub struct ApiAuth(pub WorkspaceId);

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let hash = token_sha256(token);
        if let Some(ws) = state.auth_cache.0.read().expect("token cache").get(&hash) {
            return Ok(ApiAuth(*ws));
        }
        let ws = state
            .store
            .workspace_for_token(&hash)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        state
            .auth_cache
            .0
            .write()
            .expect("token cache")
            .insert(hash, ws);
        Ok(ApiAuth(ws))
    }
}
