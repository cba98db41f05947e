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
pub(crate) mod tests {
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
                ..Default::default()
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

    /// A case with a non-default value in every field of every section.
    pub(crate) fn full_case() -> CaseDoc {
        use crate::case::{IncomeItem, NeighbourVisit};
        use crate::photo::PhotoRef;
        let mut case = sample();
        case.origin = "discovery".into();
        let a = &mut case.applicant;
        a.phone = "13800000000".into();
        a.registered_address = "北京市东城区户籍路1号".into();
        a.address = "朝阳街道幸福里3号".into();
        a.community = "幸福里社区".into();
        a.area = "urban".into();
        let m = case.members.get_mut("m1").unwrap();
        m.id_number = "110105195001010012".into();
        m.health = "disabled".into();
        m.disability_grade = "2".into();
        m.labour = "none".into();
        m.employment = "无".into();
        m.schooling = "graduated".into();
        m.marital = "married".into();
        case.income.insert(
            "i1".into(),
            IncomeItem {
                category: "transfer".into(),
                period: "monthly".into(),
                amount_fen: 123_450,
                member: "m1".into(),
                note: "养老金".into(),
                added_at: 7,
                removed: false,
            },
        );
        case.income.insert(
            "i2".into(),
            IncomeItem {
                category: "wages".into(),
                period: "annual".into(),
                amount_fen: 1,
                member: String::new(),
                note: String::new(),
                added_at: 8,
                removed: true,
            },
        );
        case.assets = crate::case::Assets {
            deposits_fen: 1,
            houses_count: 2,
            houses_area_m2x100: 3,
            vehicles_count: 4,
            vehicles_value_fen: 5,
            securities_fen: 6,
            insurance_fen: 7,
            business_assets_fen: 8,
            note: "财产说明".into(),
        };
        case.expenses = crate::case::Expenses {
            medical_fen_annual: 9,
            education_fen_annual: 10,
            other_fen_annual: 11,
            note: "支出说明".into(),
        };
        case.housing = crate::case::Housing {
            kind: "rented".into(),
            area_m2x100: 4_250,
            condition: "poor".into(),
            note: "漏雨".into(),
        };
        case.hardship.insert("illness".into(), true);
        case.hardship.insert("disaster".into(), false);
        case.assistance.insert("dibao".into(), true);
        case.narrative = "家庭情况说明".into();
        case.conclusion = crate::case::Conclusion {
            opinion: "eligible".into(),
            text: "符合低保条件".into(),
        };
        case.visit = crate::case::Visit {
            started_at: 1_700_000_100_000,
            ended_at: 1_700_000_200_000,
            gps_status: "ok".into(),
            lat_e6: 39_904_211,
            lon_e6: -116_407_395,
            accuracy_m: 12,
        };
        case.discovery = crate::case::Discovery {
            kind: "accident".into(),
            description: "车祸".into(),
            urgent: true,
            reported_at: 12,
            reported_by: "u1".into(),
        };
        case.photos.insert(
            "ab".into(),
            PhotoRef {
                sha256: "ab".into(),
                thumb_sha256: "cd".into(),
                kind: "family".into(),
                width: 1600,
                height: 1200,
                captured_at: Some("2026-11-28T10:00:00+08:00".into()),
                gps_lat_e6: Some(1),
                gps_lon_e6: None,
                taken_at: 13,
                removed: true,
                added_at: 14,
                added_by: "u2".into(),
            },
        );
        case.neighbour_visits.insert(
            "n1".into(),
            NeighbourVisit {
                name: "张大妈".into(),
                relation_or_address: "对门邻居".into(),
                statement: "老人常年卧床".into(),
                visited_at: 15,
                by_user: "u1".into(),
                by_name: "刘调查".into(),
                added_at: 16,
                removed: false,
            },
        );
        case
    }

    #[test]
    fn every_section_round_trips_through_automerge_bytes() {
        let case = full_case();
        let doc = create_document(ActorId::from(vec![1u8; 16]), &case, &note("a"), 5_000).unwrap();
        let loaded = load_document(&doc.save()).unwrap();
        assert_eq!(read_case(&loaded).unwrap(), case);
        // Each section is its own Automerge map, so devices edit them independently.
        for key in [
            "assets",
            "expenses",
            "housing",
            "conclusion",
            "visit",
            "discovery",
        ] {
            let (value, _) = loaded.get(automerge::ROOT, key).unwrap().unwrap();
            assert!(
                matches!(value, automerge::Value::Object(automerge::ObjType::Map)),
                "{key} is {value:?}"
            );
        }
        // And an edit of one field is one small change, not a rewrite.
        let mut doc = loaded;
        let mut edited = case.clone();
        edited.assets.deposits_fen = 500_000;
        let before = doc.get_changes(&[]).len();
        write_case(&mut doc, &edited, &note("b"), 6_000).unwrap();
        let changes = doc.get_changes(&[]);
        assert_eq!(changes.len(), before + 1);
        assert_eq!(changes.last().unwrap().len(), 1);
        assert_eq!(read_case(&doc).unwrap(), edited);
    }

    /// A document exactly as schema 1 (the walking skeleton) wrote it.
    fn v1_document() -> Automerge {
        use automerge::transaction::Transactable;
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![9u8; 16]));
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "schema", 1i64).unwrap();
        tx.put(automerge::ROOT, "case_id", "c-1").unwrap();
        tx.put(automerge::ROOT, "unit", "chaoyang").unwrap();
        tx.put(automerge::ROOT, "created_at", 10i64).unwrap();
        tx.put(automerge::ROOT, "status", "applied").unwrap();
        let a = tx
            .put_object(automerge::ROOT, "applicant", automerge::ObjType::Map)
            .unwrap();
        for (k, v) in [
            ("name", "王秀兰"),
            ("id_number", "11010519491231002X"),
            ("phone", ""),
            ("address", "幸福里3号"),
        ] {
            tx.put(&a, k, v).unwrap();
        }
        let members = tx
            .put_object(automerge::ROOT, "members", automerge::ObjType::Map)
            .unwrap();
        let m = tx
            .put_object(&members, "m1", automerge::ObjType::Map)
            .unwrap();
        tx.put(&m, "name", "李建国").unwrap();
        tx.put(&m, "relation", "spouse").unwrap();
        tx.put(&m, "id_number", "").unwrap();
        tx.put(&m, "added_at", 11i64).unwrap();
        tx.put(&m, "removed", false).unwrap();
        tx.commit();
        doc
    }

    #[test]
    fn a_schema_1_document_reads_with_defaults_and_is_upgraded_by_its_next_save() {
        let mut doc = v1_document();
        let case = read_case(&doc).unwrap();
        assert_eq!(case.schema, 1);
        assert_eq!(case.applicant.address, "幸福里3号");
        assert_eq!(case.applicant.area, "");
        assert_eq!(case.members["m1"].name, "李建国");
        assert_eq!(case.members["m1"].health, "");
        assert!(case.income.is_empty() && case.photos.is_empty());
        assert_eq!(case.assets, crate::case::Assets::default());
        assert_eq!(case.origin, "");

        let mut form = crate::case::CaseForm::from_case(&case);
        assert_eq!(form.origin, "application");
        form.applicant.area = "rural".into();
        form.assets.deposits_fen = 100;
        let mut upgraded = case.clone();
        form.apply_to(&mut upgraded, 20, || {
            crate::ids::MemberId::from_random_bytes([5; 16])
        });
        write_case(&mut doc, &upgraded, &note("a"), 20).unwrap();
        let back = read_case(&load_document(&doc.save()).unwrap()).unwrap();
        assert_eq!(back.schema, 2);
        assert_eq!(back.applicant.area, "rural");
        assert_eq!(back.assets.deposits_fen, 100);
        assert_eq!(back.members["m1"].name, "李建国");
        let (value, _) = doc.get(automerge::ROOT, "expenses").unwrap().unwrap();
        assert!(matches!(
            value,
            automerge::Value::Object(automerge::ObjType::Map)
        ));
    }
}
