use crate::Shared;
use axum::Router;
use std::sync::Arc;
pub(crate) fn routes() -> Router<Arc<Shared>> { Router::new() }
