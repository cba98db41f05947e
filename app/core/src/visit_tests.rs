//! Tests of drafts, the hint on a case and signing, through `Core` on a real store file.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use hecha_shared::api::Role;
use hecha_shared::app_api::{ErrorCode, SignRequest};
use hecha_shared::case::{ApplicantForm, CaseForm, IncomeForm, MemberForm, NeighbourVisitForm};
use hecha_shared::signature::Point;
use hecha_shared::{CaseId, DeviceId, UnitId, UserId};

use crate::store::session::SessionRow;
use crate::{Clock, Core};

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.fetch_add(1_000, Ordering::SeqCst)
    }
}

/// 2026-11-28 10:00 Beijing time.
const T0: i64 = 1_795_831_200_000;

fn open(dir: &Path) -> Core {
    Core::open(dir, Arc::new(TestClock(AtomicI64::new(T0)))).unwrap()
}

fn enrol_offline(core: &Core) {
    let row = SessionRow {
        server_url: "http://127.0.0.1:9".into(),
        token: "token".into(),
        user_id: UserId::from_random_bytes([1; 16]),
        username: "chaoyang-v1".into(),
        display_name: "刘调查".into(),
        role: Role::Verifier,
        unit: UnitId::new("chaoyang").unwrap(),
        unit_name: "朝阳街道".into(),
        device_id: DeviceId::from_random_bytes([2; 16]),
        cursor: Default::default(),
        last_sync_ms: None,
        last_state: None,
        last_error: None,
    };
    core.inner
        .with_store(|s| crate::store::session::enrol(s.conn(), &row))
        .unwrap();
}

/// A record complete enough to sign: two people, 1559.98 元 a month, rural.
fn complete_form() -> CaseForm {
    CaseForm {
        applicant: ApplicantForm {
            name: "王秀兰".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800000000".into(),
            registered_address: "北京市朝阳区户籍路1号".into(),
            address: "朝阳街道幸福里3号".into(),
            community: "幸福里社区".into(),
            area: "rural".into(),
        },
        members: vec![MemberForm {
            name: "李建国".into(),
            relation: "spouse".into(),
            health: "disabled".into(),
            disability_grade: "2".into(),
            labour: "none".into(),
            schooling: "graduated".into(),
            marital: "married".into(),
            ..Default::default()
        }],
        income: vec![IncomeForm {
            category: "transfer".into(),
            period: "monthly".into(),
            amount_fen: 155_998,
            ..Default::default()
        }],
        hardship: vec!["disability".into()],
        assistance: vec!["dibao".into()],
        housing: hecha_shared::case::Housing {
            kind: "owned".into(),
            condition: "poor".into(),
            ..Default::default()
        },
        conclusion: hecha_shared::case::Conclusion {
            opinion: "eligible".into(),
            text: String::new(),
        },
        visit: hecha_shared::case::Visit {
            started_at: T0,
            gps_status: "unavailable".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn strokes() -> Vec<Vec<Point>> {
    vec![(0..40u16)
        .map(|i| Point {
            x: 1_000 + i * 1_500,
            y: 30_000 + (i % 7) * 2_000,
            t: u32::from(i) * 8,
            pressure: Some(128),
        })
        .collect()]
}

fn sign(core: &Core, case_id: CaseId, role: &str, name: &str) -> SignRequest {
    let _ = core;
    SignRequest {
        case_id,
        role: role.into(),
        signer_name: name.into(),
        neighbour_visit: None,
        strokes: strokes(),
        fingerprint_photo: None,
    }
}

#[test]
fn a_draft_survives_closing_the_app_and_saving_the_case_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut half = complete_form();
    half.applicant.id_number = "1101051949".into(); // half typed: invalid, kept as typed
    half.income[0].amount_fen = 12;
    {
        let core = open(dir.path());
        enrol_offline(&core);
        core.save_draft("new", half.clone()).unwrap();
    } // the app is killed
    let core = open(dir.path());
    assert_eq!(core.load_draft("new").unwrap(), Some(half.clone()));
    assert_eq!(
        core.load_draft(&CaseId::new_random().to_string()).unwrap(),
        None
    );
    assert_eq!(
        core.save_draft("../etc", half.clone()).unwrap_err().code,
        ErrorCode::Validation
    );

    // Saving the finished form clears the draft it came from.
    let id = core.save_case(complete_form()).unwrap();
    assert_eq!(core.load_draft("new").unwrap(), None);
    let mut editing = core.get_case(id).unwrap().form;
    editing.narrative = "写到一半".into();
    core.save_draft(&id.to_string(), editing.clone()).unwrap();
    assert_eq!(
        core.load_draft(&id.to_string()).unwrap(),
        Some(editing.clone())
    );
    core.discard_draft(&id.to_string()).unwrap();
    assert_eq!(core.load_draft(&id.to_string()).unwrap(), None);
    core.save_draft(&id.to_string(), editing.clone()).unwrap();
    core.save_case(editing).unwrap();
    assert_eq!(core.load_draft(&id.to_string()).unwrap(), None);
}

#[test]
fn signing_an_incomplete_record_is_refused_with_chinese_field_messages() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core);
    let mut f = complete_form();
    f.hardship.clear();
    f.conclusion.opinion.clear();
    f.visit.started_at = 0;
    let id = core.save_case(f).unwrap();
    let err = core
        .sign_case(sign(&core, id, "investigator", "刘调查"))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(err.fields.get("hardship"), Some("请至少选择一项致贫原因"));
    assert_eq!(err.fields.get("conclusion.opinion"), Some("请选择调查结论"));
    assert_eq!(
        err.fields.get("visit.started_at"),
        Some("请记录入户调查开始时间")
    );
    assert!(core.get_case(id).unwrap().signatures.is_empty());

    let id = core.save_case(complete_form()).unwrap();
    let mut nameless = sign(&core, id, "applicant", " ");
    assert_eq!(
        core.sign_case(nameless.clone())
            .unwrap_err()
            .fields
            .get("signer_name"),
        Some("请填写签字人姓名")
    );
    nameless.signer_name = "王秀兰".into();
    nameless.strokes.clear();
    assert_eq!(
        core.sign_case(nameless).unwrap_err().fields.get("strokes"),
        Some("请在签名框内签字")
    );
}

#[test]
fn three_signatures_make_the_record_complete_until_its_content_changes() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core);
    let id = core.save_case(complete_form()).unwrap();
    let view = core.get_case(id).unwrap();
    assert_eq!(
        view.missing_signatures,
        vec!["investigator1", "investigator2", "applicant"]
    );

    let list = core
        .sign_case(sign(&core, id, "investigator", "刘调查"))
        .unwrap();
    assert_eq!(list[0].role, "investigator1");
    // The same person cannot be the second investigator.
    let again = core
        .sign_case(sign(&core, id, "investigator", "刘调查"))
        .unwrap_err();
    assert_eq!(
        again.fields.get("signer_name"),
        Some("该调查人员已经签字，第二名调查人员须是另一人")
    );
    core.sign_case(sign(&core, id, "investigator", "陈调查"))
        .unwrap();
    let list = core
        .sign_case(sign(&core, id, "applicant", "王秀兰"))
        .unwrap();
    assert_eq!(list.len(), 3);
    let roles: Vec<&str> = list.iter().map(|s| s.role.as_str()).collect();
    assert_eq!(roles, vec!["investigator1", "investigator2", "applicant"]);
    for s in &list {
        assert_eq!(s.status, "valid");
        assert_eq!(s.status_label_zh, "签字有效");
        assert_eq!(s.by_display_name, "刘调查");
        assert!(s.png_data_url.starts_with("data:image/png;base64,"));
    }
    let view = core.get_case(id).unwrap();
    assert!(view.missing_signatures.is_empty());
    assert!(view.unsynced);

    // A later edit of an attested field: every signature shows who changed it and when.
    let mut edit = view.form.clone();
    edit.income[0].amount_fen = 300_000;
    core.save_case(edit).unwrap();
    let view = core.get_case(id).unwrap();
    let edited_at = view
        .signatures
        .iter()
        .map(|s| s.signed_at_ms)
        .max()
        .unwrap();
    for s in &view.signatures {
        assert_eq!(s.status, "changed");
        assert_eq!(s.status_label_zh, "内容在签字后被修改");
        assert_eq!(s.changed_by_name, "刘调查");
        // Change times have second precision; the edit came after the last signature.
        assert!(s.changed_at_ms >= edited_at / 1000 * 1000, "{s:?}");
    }
    assert_eq!(
        view.missing_signatures,
        vec!["investigator1", "investigator2", "applicant"]
    );
}

#[test]
fn a_neighbour_signs_their_visit_and_the_hint_uses_the_cached_standards() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core);
    let mut f = complete_form();
    f.neighbour_visits.push(NeighbourVisitForm {
        name: "张大妈".into(),
        relation_or_address: "对门邻居".into(),
        statement: "老人常年卧床，家里确实困难".into(),
        ..Default::default()
    });
    let id = core.save_case(f).unwrap();
    let view = core.get_case(id).unwrap();
    assert_eq!(view.hint, None, "no standards cached yet");
    let visit = view.form.neighbour_visits[0].clone();
    assert_eq!(visit.by_name, "刘调查");
    assert_eq!(
        visit.by_user,
        UserId::from_random_bytes([1; 16]).to_string()
    );

    let mut req = sign(&core, id, "neighbour", "张大妈");
    assert_eq!(
        core.sign_case(req.clone())
            .unwrap_err()
            .fields
            .get("neighbour_visit"),
        Some("请选择邻居签字对应的邻里访问")
    );
    req.neighbour_visit = visit.id.map(|i| i.to_string());
    let list = core.sign_case(req).unwrap();
    assert_eq!(list[0].role, "neighbour");
    assert_eq!(list[0].neighbour_visit, req_visit(&visit));

    // The household's figures change: the neighbour's statement still holds.
    let mut edit = core.get_case(id).unwrap().form;
    edit.assets.deposits_fen = 100_000;
    core.save_case(edit.clone()).unwrap();
    assert_eq!(core.get_case(id).unwrap().signatures[0].status, "valid");
    edit.neighbour_visits[0].statement.push_str("（补记）");
    core.save_case(edit).unwrap();
    assert_eq!(core.get_case(id).unwrap().signatures[0].status, "changed");

    // Standards arrive (a sync fetched them): the case shows the hint for 2026, rural.
    let json = r#"{"dibao":[{"year":2026,"area":"rural","monthly_fen":78000}]}"#;
    core.inner
        .with_store(|s| crate::store::photo_queue::put_cached(s.conn(), "standards", json, T0))
        .unwrap();
    let hint = core.get_case(id).unwrap().hint.unwrap();
    assert_eq!(hint.per_capita_monthly_fen, 77_999);
    assert_eq!(hint.below_standard, Some(true));
    assert_eq!(hint.standard.unwrap().year, 2026);
}

fn req_visit(v: &NeighbourVisitForm) -> Option<String> {
    v.id.map(|i| i.to_string())
}
