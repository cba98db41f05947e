//! Real conflicts: the same field set to different values on two devices offline.
//! Automerge keeps every concurrent value; this module lists them for people to see and
//! records a person's resolution. Nothing here picks a winner silently.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use serde::{Deserialize, Serialize};

use super::codes::{
    Area, AssistanceType, ConclusionOpinion, DisabilityGrade, DiscoveryKind, GpsStatus,
    HardshipCause, HealthStatus, HousingCondition, HousingKind, IncomeCategory, IncomePeriod,
    Labour, Marital, Origin, Schooling,
};
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

/// The field's name as a person reads it, e.g. `申请人 · 姓名`, `成员 李建国 · 关系`,
/// `收入 工资性收入 · 金额`, `财产 · 存款`. Every path of the schema has a label; an unknown
/// path shows its keys joined by dots.
pub fn field_label_zh(case: &CaseDoc, path: &[String]) -> String {
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let known = |label: &str, key: &str| {
        let f = field(key);
        (f != key).then(|| format!("{label} · {f}"))
    };
    let label = match parts.as_slice() {
        ["applicant", key] => known("申请人", key),
        ["members", id, key] => {
            let who = case.members.get(*id).map(|m| m.name.as_str()).unwrap_or("");
            known(format!("成员 {who}").trim(), key)
        }
        ["income", id, key] => {
            let what = case
                .income
                .get(*id)
                .map(|i| IncomeCategory::label_of(&i.category))
                .unwrap_or("");
            known(format!("收入 {what}").trim(), key)
        }
        ["assets", key] => known("财产", key),
        ["expenses", key] => known("刚性支出", key),
        ["housing", key] => known("住房", key),
        ["conclusion", key] => known("调查结论", key),
        ["visit", key] => known("入户调查", key),
        ["discovery", key] => known("发现报告", key),
        ["hardship", code] => Some(format!("致贫原因 · {}", HardshipCause::label_of(code))),
        ["assistance", code] => Some(format!("申请救助类型 · {}", AssistanceType::label_of(code))),
        ["photos", _, key] => known("照片", key),
        ["neighbour_visits", id, key] => {
            let who = case
                .neighbour_visits
                .get(*id)
                .map(|v| v.name.as_str())
                .unwrap_or("");
            known(format!("邻里访问 {who}").trim(), key)
        }
        [key] => {
            let f = field(key);
            (f != *key).then(|| f.to_string())
        }
        _ => None,
    };
    label.unwrap_or_else(|| parts.join("."))
}

/// The Chinese name of a field key of the schema (the key itself when unknown).
fn field(key: &str) -> &str {
    match key {
        "name" => "姓名",
        "id_number" => "身份证号",
        "phone" => "联系电话",
        "address" => "现住址",
        "registered_address" => "户籍地址",
        "community" => "社区/村",
        "area" => "城乡类别",
        "relation" => "与申请人关系",
        "health" => "健康状况",
        "disability_grade" => "残疾等级",
        "labour" => "劳动能力",
        "employment" => "就业情况",
        "schooling" => "就学情况",
        "marital" => "婚姻状况",
        "removed" => "是否移除",
        "added_at" => "添加时间",
        "added_by" => "添加人",
        "status" => "状态",
        "origin" => "个案来源",
        "narrative" => "家庭情况说明",
        "category" => "收入类别",
        "period" => "计算周期",
        "amount_fen" => "金额",
        "member" => "收入成员",
        "note" => "备注",
        "deposits_fen" => "存款",
        "houses_count" => "房屋套数",
        "houses_area_m2x100" => "房屋面积",
        "vehicles_count" => "车辆数量",
        "vehicles_value_fen" => "车辆价值",
        "securities_fen" => "有价证券",
        "insurance_fen" => "商业保险",
        "business_assets_fen" => "经营性资产",
        "medical_fen_annual" => "医疗支出（年）",
        "education_fen_annual" => "教育支出（年）",
        "other_fen_annual" => "其他刚性支出（年）",
        "kind" => "类型",
        "area_m2x100" => "面积",
        "condition" => "房屋状况",
        "opinion" => "结论意见",
        "text" => "结论说明",
        "started_at" => "开始时间",
        "ended_at" => "结束时间",
        "gps_status" => "定位状态",
        "lat_e6" => "纬度",
        "lon_e6" => "经度",
        "accuracy_m" => "定位精度",
        "description" => "情况描述",
        "urgent" => "是否紧急",
        "reported_at" => "报告时间",
        "reported_by" => "报告人",
        "relation_or_address" => "关系或住址",
        "statement" => "反映情况",
        "visited_at" => "访问时间",
        "by_user" => "访问人账号",
        "by_name" => "访问人",
        "taken_at" => "拍摄时间",
        other => other,
    }
}

/// A conflicting value as a person reads it: a code field's Chinese label (relation,
/// health, area, ...), the value itself otherwise.
pub fn value_label_zh<'a>(path: &[String], value: &'a str) -> &'a str {
    let key = path.last().map(String::as_str).unwrap_or("");
    let section = path.first().map(String::as_str).unwrap_or("");
    match (section, key) {
        (_, "relation") => relation_label(value),
        (_, "health") => HealthStatus::label_of(value),
        (_, "disability_grade") => DisabilityGrade::label_of(value),
        (_, "labour") => Labour::label_of(value),
        (_, "schooling") => Schooling::label_of(value),
        (_, "marital") => Marital::label_of(value),
        (_, "area") => Area::label_of(value),
        (_, "origin") => Origin::label_of(value),
        ("income", "category") => IncomeCategory::label_of(value),
        ("income", "period") => IncomePeriod::label_of(value),
        ("housing", "kind") => HousingKind::label_of(value),
        ("housing", "condition") => HousingCondition::label_of(value),
        ("discovery", "kind") => DiscoveryKind::label_of(value),
        ("conclusion", "opinion") => ConclusionOpinion::label_of(value),
        ("visit", "gps_status") => GpsStatus::label_of(value),
        _ => value,
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
    fn two_devices_editing_different_sections_offline_both_survive() {
        use crate::case::IncomeItem;
        let (mut a, mut b) = forked_pair();
        let mut ca = read_case(&a).unwrap();
        ca.income.insert(
            "i-a".into(),
            IncomeItem {
                category: "wages".into(),
                period: "monthly".into(),
                amount_fen: 250_000,
                ..Default::default()
            },
        );
        ca.hardship.insert("illness".into(), true);
        ca.assets.deposits_fen = 1_000;
        write_case(&mut a, &ca, &note("甲"), 2_000).unwrap();
        let mut cb = read_case(&b).unwrap();
        cb.housing.kind = "rented".into();
        cb.housing.area_m2x100 = 4_200;
        cb.hardship.insert("disability".into(), true);
        cb.assets.vehicles_count = 1;
        cb.visit.started_at = 9_000;
        write_case(&mut b, &cb, &note("乙"), 3_000).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let merged = read_case(&a).unwrap();
        assert_eq!(merged, read_case(&b).unwrap());
        assert_eq!(merged.income["i-a"].amount_fen, 250_000);
        assert_eq!(merged.housing.kind, "rented");
        assert_eq!(merged.housing.area_m2x100, 4_200);
        assert_eq!(merged.assets.deposits_fen, 1_000);
        assert_eq!(merged.assets.vehicles_count, 1);
        assert_eq!(merged.visit.started_at, 9_000);
        assert_eq!(
            crate::case::CaseDoc::chosen(&merged.hardship),
            vec!["disability".to_string(), "illness".to_string()]
        );
        assert!(conflicts(&a).is_empty());
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

    #[test]
    fn every_field_of_the_schema_has_a_chinese_label() {
        let case = crate::case::doc::tests::full_case();
        let json = serde_json::to_value(&case).unwrap();
        let mut paths = Vec::new();
        fn walk(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, child) in map {
                        path.push(k.clone());
                        walk(child, path, out);
                        path.pop();
                    }
                }
                _ => out.push(path.clone()),
            }
        }
        walk(&json, &mut Vec::new(), &mut paths);
        assert!(paths.len() > 60);
        for path in paths {
            if ["schema", "case_id", "unit", "created_at"].contains(&path[0].as_str())
                || (path[0] == "photos" && path[2] != "kind" && path[2] != "removed")
            {
                continue; // bookkeeping nobody edits in a form
            }
            let label = field_label_zh(&case, &path);
            assert!(!label.is_ascii(), "{path:?} has no label: {label}");
            assert!(!label.contains('_'), "{path:?} is half labelled: {label}");
        }
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            field_label_zh(&case, &p("income.i1.amount_fen")),
            "收入 转移性收入 · 金额"
        );
        assert_eq!(
            field_label_zh(&case, &p("members.m1.health")),
            "成员 李建国 · 健康状况"
        );
        assert_eq!(
            field_label_zh(&case, &p("hardship.illness")),
            "致贫原因 · 因病"
        );
        assert_eq!(
            field_label_zh(&case, &p("assets.deposits_fen")),
            "财产 · 存款"
        );
        assert_eq!(field_label_zh(&case, &p("narrative")), "家庭情况说明");
        assert_eq!(field_label_zh(&case, &p("nowhere.x")), "nowhere.x");
        assert_eq!(value_label_zh(&p("members.m1.health"), "chronic"), "慢性病");
        assert_eq!(value_label_zh(&p("housing.kind"), "rented"), "租赁住房");
        assert_eq!(value_label_zh(&p("applicant.name"), "王"), "王");
    }
}
