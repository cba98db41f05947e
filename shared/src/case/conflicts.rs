//! Real conflicts: the same field set to different values on two devices offline.
//! Automerge keeps every concurrent value; this module lists them for people to see and
//! records a person's resolution. Nothing here picks a winner silently.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use serde::{Deserialize, Serialize};

use super::doc::{change_of_op, commit_options, ChangeNote};
use super::{CaseDoc, CaseDocError, Relation};

/// One field holding several concurrent values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// Path of keys from the document root, e.g. `["applicant", "name"]`.
    pub path: Vec<String>,
    pub values: Vec<ConflictValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictValue {
    pub value: String,
    /// Who wrote it (the commit's author) and from which device.
    pub author: String,
    pub device: String,
    /// When, in ms since the epoch (second precision).
    pub at_ms: i64,
    /// The value the document currently shows (Automerge's deterministic pick).
    pub shown: bool,
}

/// Every field of the case that holds concurrent values, depth first.
pub fn conflicts(doc: &Automerge) -> Vec<FieldConflict> {
    let mut out = Vec::new();
    walk(doc, &ROOT, &mut Vec::new(), &mut out);
    out
}

fn walk(
    doc: &Automerge,
    obj: &automerge::ObjId,
    path: &mut Vec<String>,
    out: &mut Vec<FieldConflict>,
) {
    for key in doc.keys(obj).collect::<Vec<_>>() {
        let Ok(values) = doc.get_all(obj, key.as_str()) else {
            continue;
        };
        path.push(key.clone());
        if values.len() > 1 {
            let shown = doc.get(obj, key.as_str()).ok().flatten().map(|(_, id)| id);
            let values = values
                .iter()
                .map(|(value, id)| {
                    let (note, at_ms) = match id {
                        automerge::ObjId::Id(counter, actor, _) => {
                            change_of_op(doc, actor, *counter)
                                .unwrap_or_else(|| (unknown_note(), 0))
                        }
                        automerge::ObjId::Root => (unknown_note(), 0),
                    };
                    ConflictValue {
                        value: display(value),
                        author: note.author,
                        device: note.device,
                        at_ms,
                        shown: Some(id) == shown.as_ref(),
                    }
                })
                .collect();
            out.push(FieldConflict {
                path: path.clone(),
                values,
            });
        }
        if let Some((Value::Object(ObjType::Map), child)) =
            doc.get(obj, key.as_str()).ok().flatten()
        {
            walk(doc, &child, path, out);
        }
        path.pop();
    }
}

fn unknown_note() -> ChangeNote {
    ChangeNote {
        action: String::new(),
        author: String::new(),
        device: String::new(),
    }
}

fn display(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            ScalarValue::Boolean(b) => if *b { "是" } else { "否" }.to_string(),
            ScalarValue::Int(i) => i.to_string(),
            ScalarValue::Uint(u) => u.to_string(),
            ScalarValue::F64(f) => f.to_string(),
            ScalarValue::Null => String::new(),
            other => other.to_string(),
        },
        Value::Object(_) => "（对象）".to_string(),
    }
}

/// Records a person's choice for a conflicting string field: the value is written anew,
/// superseding every concurrent value, as one commit attributed to `note`.
pub fn resolve_conflict(
    doc: &mut Automerge,
    path: &[String],
    value: &str,
    note: &ChangeNote,
    now_ms: i64,
) -> Result<(), CaseDocError> {
    let Some((field, parents)) = path.split_last() else {
        return Err(not_a_field());
    };
    let mut obj = ROOT;
    for key in parents {
        match doc.get(&obj, key.as_str())? {
            Some((Value::Object(ObjType::Map), id)) => obj = id,
            _ => return Err(not_a_field()),
        }
    }
    let mut tx = doc.transaction();
    tx.put(&obj, field.as_str(), value)?;
    tx.commit_with(commit_options(note, now_ms));
    Ok(())
}

fn not_a_field() -> CaseDocError {
    CaseDocError::Corrupt(automerge::AutomergeError::InvalidOp(ObjType::Map))
}

/// The field's name as a person reads it, e.g. `申请人 · 姓名` or `成员 李建国 · 关系`.
pub fn field_label_zh(case: &CaseDoc, path: &[String]) -> String {
    fn field(key: &str) -> &str {
        match key {
            "name" => "姓名",
            "id_number" => "身份证号",
            "phone" => "联系电话",
            "address" => "住址",
            "relation" => "与申请人关系",
            "removed" => "是否移除",
            "status" => "状态",
            other => other,
        }
    }
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["applicant", key] => format!("申请人 · {}", field(key)),
        ["members", id, key] => {
            let who = case.members.get(*id).map(|m| m.name.as_str()).unwrap_or("");
            format!("成员 {who} · {}", field(key))
        }
        [key] => field(key).to_string(),
        _ => parts.join("."),
    }
}

/// Display text of a relation code (for conflict values of `relation`).
pub fn relation_label(code: &str) -> &str {
    Relation::from_code(code)
        .map(Relation::label_zh)
        .unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{create_document, read_case, write_case};
    use crate::ids::{CaseId, UnitId};
    use automerge::ActorId;

    fn note(who: &str) -> ChangeNote {
        ChangeNote {
            action: "save".into(),
            author: who.into(),
            device: format!("device-{who}"),
        }
    }

    fn forked_pair() -> (Automerge, Automerge) {
        let case = CaseDoc::new_case(
            CaseId::from_random_bytes([2; 16]),
            &UnitId::new("qingshan").unwrap(),
            0,
        );
        let a = create_document(ActorId::from(vec![0xaa; 16]), &case, &note("甲"), 1_000).unwrap();
        let b = a.fork().with_actor(ActorId::from(vec![0xbb; 16]));
        (a, b)
    }

    #[test]
    fn edits_to_different_fields_merge_without_conflict() {
        let (mut a, mut b) = forked_pair();
        let mut ca = read_case(&a).unwrap();
        ca.applicant.name = "张三".into();
        write_case(&mut a, &ca, &note("甲"), 2_000).unwrap();
        let mut cb = read_case(&b).unwrap();
        cb.applicant.phone = "13800000000".into();
        write_case(&mut b, &cb, &note("乙"), 3_000).unwrap();
        a.merge(&mut b).unwrap();
        let merged = read_case(&a).unwrap();
        assert_eq!(merged.applicant.name, "张三");
        assert_eq!(merged.applicant.phone, "13800000000");
        assert!(conflicts(&a).is_empty());
    }

    #[test]
    fn the_same_field_edited_twice_shows_both_values_with_authors_until_resolved() {
        let (mut a, mut b) = forked_pair();
        let mut ca = read_case(&a).unwrap();
        ca.applicant.name = "张三".into();
        write_case(&mut a, &ca, &note("甲"), 2_000).unwrap();
        let mut cb = read_case(&b).unwrap();
        cb.applicant.name = "张叁".into();
        write_case(&mut b, &cb, &note("乙"), 3_000).unwrap();
        a.merge(&mut b).unwrap();

        let found = conflicts(&a);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].path,
            vec!["applicant".to_string(), "name".to_string()]
        );
        let mut pairs: Vec<_> = found[0]
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.author.as_str(), v.at_ms))
            .collect();
        pairs.sort();
        assert_eq!(pairs, vec![("张三", "甲", 2_000), ("张叁", "乙", 3_000)]);
        assert_eq!(found[0].values.iter().filter(|v| v.shown).count(), 1);
        assert_eq!(
            field_label_zh(&read_case(&a).unwrap(), &found[0].path),
            "申请人 · 姓名"
        );

        // Saving the form unchanged keeps the conflict visible.
        let shown = read_case(&a).unwrap();
        write_case(&mut a, &shown, &note("甲"), 4_000).unwrap();
        assert_eq!(conflicts(&a).len(), 1);

        resolve_conflict(&mut a, &found[0].path, "张三", &note("丙"), 5_000).unwrap();
        assert!(conflicts(&a).is_empty());
        assert_eq!(read_case(&a).unwrap().applicant.name, "张三");
        // The resolution merges onto the other device and clears its conflict too.
        b.merge(&mut a).unwrap();
        assert!(conflicts(&b).is_empty());
        assert_eq!(read_case(&b).unwrap().applicant.name, "张三");
    }

    #[test]
    fn a_removed_member_keeps_a_concurrent_edit() {
        use crate::case::Member;
        let (mut a, _) = forked_pair();
        let mut ca = read_case(&a).unwrap();
        ca.members.insert(
            "m1".into(),
            Member {
                name: "李四".into(),
                relation: "child".into(),
                id_number: String::new(),
                added_at: 1,
                removed: false,
                ..Default::default()
            },
        );
        write_case(&mut a, &ca, &note("甲"), 2_000).unwrap();
        let mut b = a.fork().with_actor(ActorId::from(vec![0xbb; 16]));
        ca.members.get_mut("m1").unwrap().removed = true;
        write_case(&mut a, &ca, &note("甲"), 3_000).unwrap();
        let mut cb = read_case(&b).unwrap();
        cb.members.get_mut("m1").unwrap().id_number = "11010519491231002X".into();
        write_case(&mut b, &cb, &note("乙"), 3_000).unwrap();
        a.merge(&mut b).unwrap();
        let merged = read_case(&a).unwrap();
        let m = &merged.members["m1"];
        assert!(m.removed);
        assert_eq!(m.id_number, "11010519491231002X");
        assert_eq!(merged.household_size(), 1);
    }

    #[test]
    fn resolving_a_path_that_does_not_exist_is_an_error() {
        let (mut a, _) = forked_pair();
        let path = vec![
            "members".to_string(),
            "nobody".to_string(),
            "name".to_string(),
        ];
        assert!(resolve_conflict(&mut a, &path, "x", &note("甲"), 0).is_err());
    }
}
