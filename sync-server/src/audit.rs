//! The audit trail of reads and exports: the optional `why` a reader gives, and writing
//! an entry inside the request that reads (a read whose entry cannot be written fails).

use serde::Deserialize;

use crate::auth::Caller;
use crate::db::audit::{self, AuditAction, NewAuditEntry};
use crate::error::ApiError;
use crate::AppState;

/// Longest `why` kept (characters).
pub(crate) const MAX_REASON: usize = 200;

/// The `why` query parameter of every audited read.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WhyQuery {
    why: Option<String>,
}

impl WhyQuery {
    /// The reason, trimmed; empty is none; too long is a bad request.
    pub(crate) fn reason(self) -> Result<Option<String>, ApiError> {
        let why = self
            .why
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty());
        if why.as_ref().is_some_and(|w| w.chars().count() > MAX_REASON) {
            return Err(ApiError::BadRequest(format!(
                "查阅事由（why）最多{MAX_REASON}个字符"
            )));
        }
        Ok(why)
    }
}

/// Writes that `caller` did `action` on `target` now.
pub(crate) fn record(
    state: &AppState,
    caller: &Caller,
    action: AuditAction,
    target: &str,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    let entry = NewAuditEntry {
        at_ms: state.now_ms(),
        user_id: Some(caller.user.user_id),
        device_id: Some(caller.device_id),
        action,
        target,
        reason,
    };
    state.db().write(|conn| audit::insert(conn, &entry))?;
    Ok(())
}
