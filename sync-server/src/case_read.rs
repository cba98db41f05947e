//! Reading one whole case for people (not devices): its document as JSON or as raw
//! Automerge bytes, and its history with every change attributed to a device and a
//! person through the device register. Out of scope and missing are one answer
//! ([`ApiError::Unavailable`]), so nothing is revealed about cases one may not see.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use automerge::{AutoSerde, Automerge};
use hecha_shared::api::{CaseChange, CaseDocument, CaseHistory};
use hecha_shared::case::ChangeNote;
use hecha_shared::{CaseId, UnitId};

use crate::auth::Scope;
use crate::db::{cases, devices};
use crate::error::ApiError;
use crate::AppState;

/// A case as stored, already checked to be in the reader's scope.
pub(crate) struct StoredCase {
    pub case_id: CaseId,
    pub unit: UnitId,
    pub unit_name: String,
    pub bytes: Vec<u8>,
}

/// Parses a case id from a path; a malformed id is a bad request (it names no case).
pub(crate) fn parse_case_id(raw: &str) -> Result<CaseId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest("案件编号格式不正确".to_string()))
}

/// The stored case if it exists and `scope` covers its unit; otherwise `Unavailable`.
pub(crate) fn load(
    state: &AppState,
    scope: &Scope,
    case_id: CaseId,
) -> Result<StoredCase, ApiError> {
    if matches!(scope, Scope::Nothing) {
        return Err(ApiError::Unavailable);
    }
    let found = state.db().read(|conn| -> rusqlite::Result<_> {
        match cases::load_with_unit(conn, case_id)? {
            Some((unit, name, bytes)) if scope.allows(conn, case_id, &unit)? => {
                Ok(Some((unit, name, bytes)))
            }
            _ => Ok(None),
        }
    })?;
    match found {
        Some((unit, unit_name, bytes)) => Ok(StoredCase {
            case_id,
            unit,
            unit_name,
            bytes,
        }),
        _ => Err(ApiError::Unavailable),
    }
}

fn document(stored: &StoredCase) -> Result<Automerge, ApiError> {
    crate::sync::load_stored(stored.case_id, &stored.bytes)
        .ok_or_else(|| ApiError::internal(format!("case {} does not load", stored.case_id)))
}

/// The JSON view of the whole document.
pub(crate) fn document_view(stored: &StoredCase) -> Result<CaseDocument, ApiError> {
    let doc = document(stored)?;
    let document = serde_json::to_value(AutoSerde::from(&doc))
        .map_err(|e| ApiError::internal(format!("case {} as JSON: {e}", stored.case_id)))?;
    Ok(CaseDocument {
        case_id: stored.case_id,
        unit: stored.unit.clone(),
        unit_name: stored.unit_name.clone(),
        heads: doc.get_heads().iter().map(|h| h.to_string()).collect(),
        document,
    })
}

/// Every change, oldest first, attributed through the device register.
pub(crate) fn history(state: &AppState, stored: &StoredCase) -> Result<CaseHistory, ApiError> {
    let doc = document(stored)?;
    let metas = doc.get_changes_meta(&[]);
    let mut owners: HashMap<String, Option<devices::ActorOwner>> = HashMap::new();
    state.db().read(|conn| -> rusqlite::Result<()> {
        for meta in &metas {
            if let Entry::Vacant(slot) = owners.entry(meta.actor.to_hex_string()) {
                let owner = devices::owner_of_actor(conn, slot.key())?;
                slot.insert(owner);
            }
        }
        Ok(())
    })?;
    let changes = metas
        .iter()
        .map(|meta| {
            let actor = meta.actor.to_hex_string();
            let owner = owners.get(&actor).cloned().flatten();
            CaseChange {
                hash: meta.hash.to_string(),
                seq: meta.seq,
                deps: meta.deps.iter().map(|h| h.to_string()).collect(),
                device_id: owner.as_ref().map(|o| o.device_id),
                device_name: owner.as_ref().map(|o| o.device_name.clone()),
                user_id: owner.as_ref().map(|o| o.user_id),
                username: owner.as_ref().map(|o| o.username.clone()),
                display_name: owner.map(|o| o.display_name),
                at_ms: meta.timestamp.saturating_mul(1000),
                action: meta
                    .message
                    .as_deref()
                    .and_then(ChangeNote::decode)
                    .map(|note| note.action)
                    .unwrap_or_default(),
                actor,
            }
        })
        .collect();
    Ok(CaseHistory {
        case_id: stored.case_id,
        changes,
    })
}
