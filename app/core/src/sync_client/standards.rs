//! The bureau's 低保 standards (`GET /api/v1/standards`), cached on the device so the
//! per-capita hint works offline. Refreshed during a sync run at most every
//! [`REFRESH_MS`]; a server without the route (404) or any failure keeps the last copy
//! and never fails the run.

use hecha_shared::standards::Standards;
use rusqlite::Connection;

use super::http::status_error;
use crate::error::{CoreError, CoreResult};
use crate::store::photo_queue;
use crate::store::session::SessionRow;
use crate::Inner;

/// The cache key of the standards.
const KEY: &str = "standards";
/// How old a cached copy may be before a sync run asks again.
pub(crate) const REFRESH_MS: i64 = 6 * 60 * 60 * 1000;

/// The last copy fetched, if any (an unreadable copy counts as none).
pub(crate) fn cached(conn: &Connection) -> CoreResult<Option<Standards>> {
    Ok(photo_queue::cached(conn, KEY)?.and_then(|(json, _)| {
        serde_json::from_str(&json)
            .map_err(|e| tracing::warn!(error = %e, "cached standards unreadable"))
            .ok()
    }))
}

async fn fetch(inner: &Inner, session: &SessionRow) -> CoreResult<Option<String>> {
    let url = format!(
        "{}/api/v1/standards",
        session.server_url.trim_end_matches('/')
    );
    let response = inner
        .http
        .get(url)
        .bearer_auth(&session.token)
        .send()
        .await
        .map_err(|e| CoreError::Network(e.to_string()))?;
    let code = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| CoreError::Network(e.to_string()))?;
    if code == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !code.is_success() {
        return Err(status_error(code, &body));
    }
    let standards: Standards = serde_json::from_slice(&body)
        .map_err(|e| CoreError::Protocol(format!("standards: {e}")))?;
    serde_json::to_string(&standards)
        .map(Some)
        .map_err(|e| CoreError::Protocol(format!("standards: {e}")))
}

/// Fetches the standards when the cached copy is missing or older than [`REFRESH_MS`].
pub(crate) async fn refresh(inner: &Inner, session: &SessionRow) {
    let now = inner.clock.now_ms();
    let fresh = inner
        .with_store(|s| photo_queue::cached(s.conn(), KEY))
        .ok()
        .flatten()
        .is_some_and(|(_, at)| now.saturating_sub(at) < REFRESH_MS && at <= now);
    if fresh {
        return;
    }
    match fetch(inner, session).await {
        Ok(Some(json)) => {
            if let Err(e) = inner.with_store(|s| photo_queue::put_cached(s.conn(), KEY, &json, now))
            {
                tracing::warn!(error = %e, "standards not cached");
            }
        }
        Ok(None) => tracing::info!("the server publishes no standards"),
        Err(e) => tracing::info!(error = %e, "standards not refreshed"),
    }
}
