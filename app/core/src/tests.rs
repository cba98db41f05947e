//! Native tests of the user actions over a real SQLite file in a temp dir (no server:
//! everything here must work offline). Sync against the real server is in `tests/`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use automerge::ActorId;
use hecha_shared::api::Role;
use hecha_shared::app_api::{ErrorCode, ResolveRequest, SyncState};
use hecha_shared::case::{self, ApplicantForm, CaseForm, ChangeNote, MemberForm};
use hecha_shared::{DeviceId, UnitId, UserId};

use super::*;
use crate::store::session::SessionRow;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.fetch_add(1_000, Ordering::SeqCst)
    }
}

fn open(dir: &Path) -> Core {
    Core::open(dir, Arc::new(TestClock(AtomicI64::new(1_700_000_000_000)))).unwrap()
}

/// A closed local port: a server that is down.
fn dead_server() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// Stores a session as a login would have (the server is not needed for these tests).
fn enrol_offline(core: &Core, server_url: &str) {
    let row = SessionRow {
        server_url: server_url.into(),
        token: "token".into(),
        user_id: UserId::from_random_bytes([1; 16]),
        username: "chaoyang-v1".into(),
        display_name: "朝阳核查员".into(),
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
        .with_store(|s| store::session::enrol(s.conn(), &row))
        .unwrap();
}

fn form(name: &str, id_number: &str) -> CaseForm {
    CaseForm {
        case_id: None,
        applicant: ApplicantForm {
            name: name.into(),
            id_number: id_number.into(),
            phone: "13800000000".into(),
            address: "朝阳街道幸福里3号".into(),
            ..Default::default()
        },
        members: vec![MemberForm {
            id: None,
            name: "李建国".into(),
            relation: "spouse".into(),
            id_number: String::new(),
            removed: false,
            ..Default::default()
        }],
        ..Default::default()
    }
}

const ID_X: &str = "11010519491231002x";

/// The stored document of a case, straight from the store.
fn stored_doc(core: &Core, id: CaseId) -> automerge::Automerge {
    let record = core
        .inner
        .with_store(|s| store::cases::get(s.conn(), id))
        .unwrap()
        .unwrap();
    case::load_document(&record.doc).unwrap()
}

#[test]
fn capture_needs_an_enrolled_device() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    assert_eq!(core.session().unwrap(), None);
    let err = core.save_case(form("王秀兰", ID_X)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotEnrolled);
    assert!(core.list_cases("").unwrap().is_empty());
    assert_eq!(core.sync_status().unwrap().state, SyncState::NotEnrolled);
}

#[test]
fn an_invalid_form_writes_nothing_and_says_what_is_wrong_per_field() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    let mut bad = form("", "110105194912310021");
    bad.members[0].relation = String::new();
    let err = core.save_case(bad).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(err.fields.get("applicant.name"), Some("请填写申请人姓名"));
    assert!(err.fields.get("applicant.id_number").is_some());
    assert_eq!(
        err.fields.get("members.0.relation"),
        Some("请选择与申请人关系")
    );
    assert!(core.list_cases("").unwrap().is_empty());
    assert_eq!(core.sync_status().unwrap().unsynced_cases, 0);
}

#[test]
fn a_new_case_is_one_attributed_commit_listed_as_unsynced() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    let id = core.save_case(form("王秀兰", ID_X)).unwrap();

    let list = core.list_cases("").unwrap();
    assert_eq!(list.len(), 1);
    let row = &list[0];
    assert_eq!(row.case_id, id);
    assert_eq!(row.applicant_name, "王秀兰");
    assert_eq!(row.id_masked, "110105********002X");
    assert_eq!(row.member_count, 2);
    assert_eq!(row.status_label, "申请");
    assert!(row.unsynced);
    assert_eq!(row.conflicts, 0);

    let view = core.get_case(id).unwrap();
    assert_eq!(view.form.case_id, Some(id));
    assert_eq!(view.form.applicant.id_number, "11010519491231002X");
    assert_eq!(view.form.members.len(), 1);
    assert!(view.form.members[0].id.is_some());
    assert!(view.unsynced && view.conflicts.is_empty());

    let doc = stored_doc(&core, id);
    let changes = doc.get_changes(&[]);
    assert_eq!(changes.len(), 1);
    let note = ChangeNote::decode(changes[0].message().unwrap()).unwrap();
    assert_eq!(note.action, "create");
    assert_eq!(note.author, "朝阳核查员");
    assert_eq!(
        note.device,
        DeviceId::from_random_bytes([2; 16]).to_string()
    );
    assert_eq!(case::read_case(&doc).unwrap().unit, "chaoyang");
    assert_eq!(core.sync_status().unwrap().unsynced_cases, 1);
}

#[test]
fn an_edit_is_one_more_commit_and_an_unchanged_save_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    let id = core.save_case(form("王秀兰", ID_X)).unwrap();
    let mut edit = core.get_case(id).unwrap().form;
    edit.applicant.phone = "0952-1234567".into();
    edit.members.push(MemberForm {
        id: None,
        name: "李小明".into(),
        relation: "child".into(),
        id_number: String::new(),
        removed: false,
        ..Default::default()
    });
    assert_eq!(core.save_case(edit.clone()).unwrap(), id);
    assert_eq!(stored_doc(&core, id).get_changes(&[]).len(), 2);
    assert_eq!(core.list_cases("").unwrap()[0].member_count, 3);

    // As if a sync had delivered it: no longer dirty.
    core.inner
        .with_store(|s| store::cases::clear_flags(s.conn(), id, true, true))
        .unwrap();
    let same = core.get_case(id).unwrap().form;
    assert_eq!(core.save_case(same).unwrap(), id);
    assert_eq!(stored_doc(&core, id).get_changes(&[]).len(), 2);
    assert!(!core.get_case(id).unwrap().unsynced);
    assert_eq!(core.sync_status().unwrap().unsynced_cases, 0);

    // Removing a member keeps it in the document, flagged.
    let mut remove = core.get_case(id).unwrap().form;
    remove.members[1].removed = true;
    core.save_case(remove).unwrap();
    let view = core.get_case(id).unwrap();
    assert_eq!(view.form.members.len(), 1);
    assert_eq!(core.list_cases("").unwrap()[0].member_count, 2);
    assert!(view.unsynced);
}

#[test]
fn editing_a_case_that_is_not_here_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    let mut f = form("王秀兰", ID_X);
    f.case_id = Some(CaseId::new_random());
    assert_eq!(core.save_case(f).unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(
        core.get_case(CaseId::new_random()).unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[test]
fn the_list_is_newest_first_and_searches_name_or_id_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    core.save_case(form("王秀兰", ID_X)).unwrap();
    let other = hecha_shared::id_number::with_check_digit("11010519800101003")
        .unwrap()
        .to_string();
    core.save_case(form("李建华", &other)).unwrap();
    let names = |q: &str| -> Vec<String> {
        core.list_cases(q)
            .unwrap()
            .into_iter()
            .map(|c| c.applicant_name)
            .collect()
    };
    assert_eq!(names(""), ["李建华", "王秀兰"]);
    assert_eq!(names("秀"), ["王秀兰"]);
    assert_eq!(names("002x"), ["王秀兰"]);
    assert_eq!(names(&other[14..]), ["李建华"]);
    assert!(names("张").is_empty());
}

#[test]
fn the_device_identity_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path()).inner.actor().unwrap();
    let again = open(dir.path()).inner.actor().unwrap();
    assert_eq!(first, again);
    let elsewhere = tempfile::tempdir().unwrap();
    assert_ne!(open(elsewhere.path()).inner.actor().unwrap(), first);
}

/// Makes the stored case hold two concurrent values of the applicant's name, as a sync
/// with another device's offline edit would.
fn make_name_conflict(core: &Core, id: CaseId) {
    let mut here = stored_doc(core, id).with_actor(core.inner.actor().unwrap());
    let mut there = here.fork().with_actor(ActorId::from([0xbb; 16]));
    let mut c = case::read_case(&here).unwrap();
    c.applicant.name = "王秀兰甲".into();
    let note = |who: &str| ChangeNote {
        action: "save".into(),
        author: who.into(),
        device: format!("device-{who}"),
    };
    case::write_case(&mut here, &c, &note("朝阳核查员"), 1_700_000_100_000).unwrap();
    c.applicant.name = "王秀兰乙".into();
    case::write_case(&mut there, &c, &note("另一核查员"), 1_700_000_200_000).unwrap();
    here.merge(&mut there).unwrap();
    let summary = docs::summarise(&here, 1_700_000_300_000);
    core.inner
        .with_store(|s| store::cases::save_local(s.conn(), id, &here.save(), &summary))
        .unwrap();
}

#[test]
fn a_conflict_shows_both_values_with_authors_until_a_person_chooses() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    let id = core.save_case(form("王秀兰", ID_X)).unwrap();
    make_name_conflict(&core, id);

    let view = core.get_case(id).unwrap();
    assert_eq!(view.conflicts.len(), 1);
    let conflict = &view.conflicts[0];
    assert_eq!(conflict.path, ["applicant", "name"]);
    assert_eq!(conflict.label, "申请人 · 姓名");
    let mut values: Vec<_> = conflict
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.author.as_str()))
        .collect();
    values.sort();
    assert_eq!(
        values,
        [("王秀兰乙", "另一核查员"), ("王秀兰甲", "朝阳核查员")]
    );
    assert_eq!(core.list_cases("").unwrap()[0].conflicts, 1);

    // Saving the form as shown keeps the conflict.
    core.save_case(view.form.clone()).unwrap();
    assert_eq!(core.get_case(id).unwrap().conflicts.len(), 1);

    let choose = |value: &str| ResolveRequest {
        case_id: id,
        path: vec!["applicant".into(), "name".into()],
        value: value.into(),
    };
    let err = core.resolve_conflict(choose("别的名字")).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.fields.get("applicant.name").is_some());

    let resolved = core.resolve_conflict(choose("王秀兰乙")).unwrap();
    assert!(resolved.conflicts.is_empty());
    assert_eq!(resolved.form.applicant.name, "王秀兰乙");
    assert!(resolved.unsynced);
    let row = &core.list_cases("").unwrap()[0];
    assert_eq!(
        (row.conflicts, row.applicant_name.as_str()),
        (0, "王秀兰乙")
    );
    // Choosing again once settled changes nothing.
    let before = stored_doc(&core, id).get_changes(&[]).len();
    core.resolve_conflict(choose("王秀兰甲")).unwrap();
    assert_eq!(stored_doc(&core, id).get_changes(&[]).len(), before);
}

#[tokio::test]
async fn with_the_server_down_capture_works_and_sync_reports_offline() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    core.save_case(form("王秀兰", ID_X)).unwrap();
    let err = core.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Network);
    assert_eq!(err.message, "无法连接服务器，数据已保存在本机");
    let status = core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Offline);
    assert_eq!(status.unsynced_cases, 1);
    assert_eq!(status.last_error.as_deref(), Some(err.message.as_str()));
    assert_eq!(status.last_synced_at_ms, None);
    // Still fully usable.
    core.save_case(form("李建国", "")).unwrap_err();
    let other = hecha_shared::id_number::with_check_digit("11010519800101003")
        .unwrap()
        .to_string();
    core.save_case(form("李建国", &other)).unwrap();
    assert_eq!(core.sync_status().unwrap().unsynced_cases, 2);
}

#[tokio::test]
async fn enrolling_checks_the_form_then_reports_an_unreachable_server() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    let err = core
        .enrol(EnrolRequest {
            server_url: "10.0.0.1:8080".into(),
            username: " ".into(),
            password: String::new(),
            code: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(err.fields.0.len(), 3);
    let err = core
        .enrol(EnrolRequest {
            server_url: dead_server(),
            username: "chaoyang-v1".into(),
            password: "pw".into(),
            code: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Network);
    assert!(err.message.contains("无法连接服务器"));
    assert_eq!(core.session().unwrap(), None);
}

#[tokio::test]
async fn the_background_loop_ends_when_its_core_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    enrol_offline(&core, &dead_server());
    let handle = core.spawn_sync_loop(Duration::from_secs(3600));
    // Let it fail once (the server is down) and go to sleep.
    for _ in 0..100 {
        if core.sync_status().unwrap().state == SyncState::Offline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(core.sync_status().unwrap().state, SyncState::Offline);
    core.nudge_sync();
    drop(core);
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("the loop stops once the core is gone")
        .unwrap();
}

#[tokio::test]
async fn another_account_cannot_take_over_a_device_with_unsynced_cases() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path());
    let server = dead_server();
    enrol_offline(&core, &server);
    core.save_case(form("王秀兰", ID_X)).unwrap();
    let err = core
        .enrol(EnrolRequest {
            server_url: server.clone(),
            username: "goukou-v1".into(),
            password: "pw".into(),
            code: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.fields.get("username").unwrap().contains("1个未同步"));
    // The same account logging in again is not a take-over: it goes to the server.
    let err = core
        .enrol(EnrolRequest {
            server_url: server,
            username: "chaoyang-v1".into(),
            password: "pw".into(),
            code: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Network);
    assert_eq!(core.list_cases("").unwrap().len(), 1);
}
