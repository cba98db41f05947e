//! Case documents as the core handles them: loaded with the device's actor, summarised
//! into the list's columns, and their conflicts shown as people read them.

use automerge::{ActorId, Automerge, ReadDoc};
use hecha_shared::app_api::ConflictView;
use hecha_shared::case::{self, CaseDoc};

use crate::error::CoreResult;
use crate::store::cases::Summary;

/// Loads stored bytes; every change made on the result is written as this device.
pub(crate) fn load(bytes: &[u8], actor: &ActorId) -> CoreResult<Automerge> {
    Ok(case::load_document(bytes)?.with_actor(actor.clone()))
}

/// An empty document: the local copy of a case the server announced but has not sent.
pub(crate) fn empty(actor: &ActorId) -> Automerge {
    Automerge::new().with_actor(actor.clone())
}

/// Time of the newest change the document holds (ms, second precision), if any.
pub(crate) fn last_change_ms(doc: &Automerge) -> Option<i64> {
    doc.get_heads()
        .iter()
        .filter_map(|h| doc.get_change_by_hash(h))
        .map(|c| c.timestamp().saturating_mul(1000))
        .max()
}

/// The summary columns of a document. An empty document, or one whose content is not
/// (yet) a readable case, is a placeholder the list does not show.
pub(crate) fn summarise(doc: &Automerge, updated_at_ms: i64) -> Summary {
    if case::is_empty(doc) {
        return Summary {
            placeholder: true,
            updated_at_ms,
            ..Summary::default()
        };
    }
    match case::read_case(doc) {
        Ok(c) => summary_of(&c, doc, updated_at_ms),
        Err(e) => {
            tracing::warn!(error = %e, "received case document is not readable yet");
            Summary {
                placeholder: true,
                updated_at_ms,
                ..Summary::default()
            }
        }
    }
}

fn summary_of(c: &CaseDoc, doc: &Automerge, updated_at_ms: i64) -> Summary {
    // Read and derive the lifecycle once: this runs for every document a sync receives.
    let lifecycle = case::lifecycle_doc::read(doc);
    let derived = (!lifecycle.records.is_empty()).then(|| lifecycle.derive());
    Summary {
        placeholder: false,
        applicant_name: c.applicant.name.clone(),
        id_number: c.applicant.id_number.clone(),
        member_count: c.household_size(),
        // The lifecycle records decide the state when there are any (the `status` field
        // only caches it, and may hold concurrent values after a merge).
        status: derived
            .as_ref()
            .map_or_else(|| c.status.clone(), |d| d.state.code().to_string()),
        conflicts: conflict_views(doc, c).len() as u32
            + derived.as_ref().map_or(0, |d| d.conflicts.len() as u32),
        updated_at_ms,
        urgent: c.origin == "discovery" && c.discovery.urgent,
    }
}

/// The fields a person must decide: concurrent values that differ. (Two devices writing
/// the same value at once is an Automerge conflict too, but nobody needs to choose.) The
/// `status` cache is left out: the lifecycle shows its own conflicts.
pub(crate) fn conflict_views(doc: &Automerge, c: &CaseDoc) -> Vec<ConflictView> {
    case::conflicts(doc)
        .into_iter()
        .filter(|f| f.path != ["status"])
        .filter(|f| f.values.iter().any(|v| v.value != f.values[0].value))
        .map(|f| ConflictView {
            label: case::field_label_zh(c, &f.path),
            path: f.path,
            values: f.values,
        })
        .collect()
}
