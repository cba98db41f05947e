//! Reading and writing a [`CaseDoc`] in an Automerge document, one commit per save.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use serde::{Deserialize, Serialize};

use super::CaseDoc;

#[derive(Debug, thiserror::Error)]
pub enum CaseDocError {
    #[error("not a readable Automerge document: {0}")]
    Corrupt(#[from] automerge::AutomergeError),
    #[error("the document does not hold a case: {0}")]
    Shape(#[from] autosurgeon::HydrateError),
    #[error("the case could not be represented: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Who made a change, stored as the Automerge commit message (JSON) so every change in a
/// case's history names a person and a device, whichever implementation reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeNote {
    /// What the change was, e.g. `create`, `save`, `resolve`.
    pub action: String,
    /// The person's display name.
    pub author: String,
    /// The device's id.
    pub device: String,
}

impl ChangeNote {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("plain strings serialise")
    }

    pub fn decode(message: &str) -> Option<Self> {
        serde_json::from_str(message).ok()
    }
}

/// Creates the case's document: its first change writes the whole structure.
pub fn create_document(
    actor: ActorId,
    case: &CaseDoc,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<Automerge, CaseDocError> {
    let mut doc = Automerge::new().with_actor(actor);
    write_case(&mut doc, case, note, now_ms)?;
    Ok(doc)
}

/// Loads a saved document (full or incremental chunks concatenated).
pub fn load_document(bytes: &[u8]) -> Result<Automerge, CaseDocError> {
    Ok(Automerge::load(bytes)?)
}

/// The case as the document now holds it (concurrent values: the deterministic winner;
/// see [`super::conflicts`] for the others).
pub fn read_case(doc: &Automerge) -> Result<CaseDoc, CaseDocError> {
    Ok(autosurgeon::hydrate(doc)?)
}

/// Writes `case` into `doc` as one commit. Fields equal to what the document holds are
/// not written, so an unchanged field keeps any conflict it has. Returns the new change's
/// hash, or `None` when nothing differed.
pub fn write_case(
    doc: &mut Automerge,
    case: &CaseDoc,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<Option<ChangeHash>, CaseDocError> {
    let new = object_of(case)?;
    let old = if is_empty(doc) {
        None
    } else {
        Some(object_of(&read_case(doc)?)?)
    };
    let mut tx = doc.transaction();
    if let Err(e) = super::write::write_map_diff(&mut tx, &automerge::ROOT, old.as_ref(), &new) {
        tx.rollback();
        return Err(e.into());
    }
    if tx.pending_ops() == 0 {
        tx.rollback();
        return Ok(None);
    }
    let (hash, _) = tx.commit_with(commit_options(note, now_ms));
    Ok(hash)
}

fn object_of(case: &CaseDoc) -> Result<serde_json::Map<String, serde_json::Value>, CaseDocError> {
    match serde_json::to_value(case)? {
        serde_json::Value::Object(map) => Ok(map),
        _ => unreachable!("a struct serialises to an object"),
    }
}

pub(crate) fn commit_options(note: &ChangeNote, now_ms: i64) -> CommitOptions {
    CommitOptions::default()
        .with_message(note.encode())
        .with_time(now_ms.div_euclid(1000))
}

/// The author and time (ms) of the change that made operation `counter` of `actor`.
pub(crate) fn change_of_op(
    doc: &Automerge,
    actor: &ActorId,
    counter: u64,
) -> Option<(ChangeNote, i64)> {
    doc.get_changes(&[]).into_iter().find_map(|change| {
        let start = change.start_op().get();
        let in_range =
            change.actor_id() == actor && counter >= start && counter < start + change.len() as u64;
        in_range.then(|| {
            let note = change
                .message()
                .and_then(ChangeNote::decode)
                .unwrap_or(ChangeNote {
                    action: String::new(),
                    author: String::new(),
                    device: actor.to_hex_string(),
                });
            (note, change.timestamp() * 1000)
        })
    })
}

/// Whether the document has any object at its root at all (an empty document is a case
/// that has not reached this peer yet).
pub fn is_empty(doc: &Automerge) -> bool {
    doc.keys(automerge::ROOT).next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{CaseDoc, Member};
    use crate::ids::{CaseId, UnitId};

    fn note(who: &str) -> ChangeNote {
        ChangeNote {
            action: "save".into(),
            author: who.into(),
            device: format!("dev-{who}"),
        }
    }

    fn sample() -> CaseDoc {
        let mut case = CaseDoc::new_case(
            CaseId::from_random_bytes([1; 16]),
            &UnitId::new("chaoyang").unwrap(),
            1_700_000_000_000,
        );
        case.applicant.name = "王秀兰".into();
        case.applicant.id_number = "11010519491231002X".into();
        case.members.insert(
            "m1".into(),
            Member {
                name: "李建国".into(),
                relation: "spouse".into(),
                id_number: String::new(),
                added_at: 1,
                removed: false,
            },
        );
        case
    }

    #[test]
    fn a_case_round_trips_through_automerge_bytes() {
        let case = sample();
        let doc = create_document(ActorId::from(vec![1u8; 16]), &case, &note("a"), 5_000).unwrap();
        let loaded = load_document(&doc.save()).unwrap();
        assert_eq!(read_case(&loaded).unwrap(), case);
        let change = &loaded.get_changes(&[])[0];
        assert_eq!(change.timestamp(), 5);
        assert_eq!(
            ChangeNote::decode(change.message().unwrap())
                .unwrap()
                .author,
            "a"
        );
    }

    #[test]
    fn an_unchanged_save_makes_no_commit() {
        let case = sample();
        let mut doc = create_document(ActorId::from(vec![1u8; 16]), &case, &note("a"), 0).unwrap();
        assert_eq!(write_case(&mut doc, &case, &note("a"), 1).unwrap(), None);
        assert_eq!(doc.get_changes(&[]).len(), 1);
    }

    #[test]
    fn free_text_is_stored_as_scalar_strings() {
        let doc = create_document(ActorId::from(vec![1u8; 16]), &sample(), &note("a"), 0).unwrap();
        let (_, applicant) = doc.get(automerge::ROOT, "applicant").unwrap().unwrap();
        let (value, _) = doc.get(&applicant, "name").unwrap().unwrap();
        assert!(value.is_str(), "expected a scalar string, got {value:?}");
    }

    #[test]
    fn garbage_bytes_are_a_typed_error() {
        assert!(matches!(
            load_document(b"not automerge"),
            Err(CaseDocError::Corrupt(_))
        ));
        let empty = Automerge::new();
        assert!(is_empty(&empty));
        assert!(matches!(read_case(&empty), Err(CaseDocError::Shape(_))));
    }
}
