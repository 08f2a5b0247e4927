use crate::Shared;
use axum::Router;
use std::sync::Arc;
pub(crate) fn routes(_s: Arc<Shared>) -> Router<Arc<Shared>> { Router::new() }
pub(crate) fn token_router(s: Arc<Shared>) -> Router { Router::new().with_state(s) }
