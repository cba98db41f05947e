//! End-to-end sync scenarios: real app cores (`hecha-core`) on temp dirs talking HTTP to a
//! real `hecha-server` on 127.0.0.1, sometimes through a proxy that cuts responses.
//! What is asserted is what people would check: the case list on each device, the
//! conflicts shown, the server's ledger, the sync status.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use hecha_core::Core;
use hecha_e2e::{FlakyProxy, ProxyMode, TestDevice, TestServer};
use hecha_shared::app_api::{ErrorCode, ResolveRequest, SyncState};
use hecha_shared::case::{ApplicantForm, CaseForm, MemberForm};
use hecha_shared::id_number::with_check_digit;
use hecha_shared::CaseId;

/// A valid ID number (大武口区 region code) distinct for each `n`.
fn id_number(n: u32) -> String {
    let first17 = format!(
        "64020219{:02}0{}{:02}{:03}",
        60 + n % 40,
        1 + n % 9,
        1 + n % 28,
        n % 1000
    );
    with_check_digit(&first17)
        .unwrap_or_else(|| panic!("fixture id {first17}"))
        .to_string()
}

fn household(name: &str, n: u32, members: &[(&str, &str)]) -> CaseForm {
    CaseForm {
        case_id: None,
        applicant: ApplicantForm {
            name: name.into(),
            id_number: id_number(n),
            phone: String::new(),
            address: "大武口区朝阳街道".into(),
            ..Default::default()
        },
        members: members
            .iter()
            .map(|(name, relation)| MemberForm {
                id: None,
                name: (*name).into(),
                relation: (*relation).into(),
                id_number: String::new(),
                removed: false,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

async fn sync_ok(core: &Core) -> hecha_shared::app_api::SyncReport {
    core.sync_now()
        .await
        .unwrap_or_else(|e| panic!("sync failed: {e:?}"))
}

fn form_of(core: &Core, id: CaseId) -> CaseForm {
    core.get_case(id).expect("the case is on the device").form
}

/// Two verifiers of the same unit edit different fields of one case offline: after both
/// sync (and the first once more) both devices show both edits, with no conflict.
#[tokio::test]
async fn offline_edits_to_different_fields_both_survive() {
    let server = TestServer::start();
    let a = TestDevice::new();
    let b = TestDevice::new();
    a.enrol(&server.url(), "xinghai-v1").await;
    b.enrol(&server.url(), "xinghai-v2").await;

    let id = a
        .core
        .save_case(household("马秀英", 1, &[("杨建军", "spouse")]))
        .unwrap();
    sync_ok(&a.core).await;
    sync_ok(&b.core).await;
    assert_eq!(form_of(&b.core, id), form_of(&a.core, id));

    // Offline, each changes something else.
    let mut on_a = form_of(&a.core, id);
    on_a.applicant.phone = "13995200001".into();
    a.core.save_case(on_a).unwrap();
    let mut on_b = form_of(&b.core, id);
    on_b.applicant.address = "大武口区星海镇新村5号".into();
    on_b.members.push(MemberForm {
        name: "杨小梅".into(),
        relation: "child".into(),
        ..Default::default()
    });
    b.core.save_case(on_b).unwrap();

    sync_ok(&a.core).await;
    sync_ok(&b.core).await;
    sync_ok(&a.core).await;

    for device in [&a, &b] {
        let view = device.core.get_case(id).unwrap();
        assert_eq!(view.form.applicant.phone, "13995200001");
        assert_eq!(view.form.applicant.address, "大武口区星海镇新村5号");
        let names: Vec<_> = view.form.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["杨建军", "杨小梅"]);
        assert!(view.conflicts.is_empty());
        assert!(!view.unsynced);
        let status = device.core.sync_status().unwrap();
        assert_eq!(
            (status.state, status.unsynced_cases),
            (SyncState::Synced, 0)
        );
        let row = &device.core.list_cases("").unwrap()[0];
        assert_eq!(
            (row.member_count, row.conflicts, row.unsynced),
            (3, 0, false)
        );
    }
    let ledger = server.cases("xinghai-sup", "").await;
    assert_eq!(ledger.total, 1);
    assert_eq!(ledger.cases[0].member_count, 3);
}

/// The same field edited on two devices: both values are shown, with their authors,
/// until a person chooses; the choice then reaches the other device.
#[tokio::test]
async fn the_same_field_edited_twice_is_shown_as_a_conflict_until_resolved() {
    let server = TestServer::start();
    let a = TestDevice::new();
    let b = TestDevice::new();
    let who_a = a.enrol(&server.url(), "xinghai-v1").await.display_name;
    let who_b = b.enrol(&server.url(), "xinghai-v2").await.display_name;

    let id = a.core.save_case(household("马秀英", 2, &[])).unwrap();
    sync_ok(&a.core).await;
    sync_ok(&b.core).await;

    let mut on_a = form_of(&a.core, id);
    on_a.applicant.name = "马秀瑛".into();
    a.core.save_case(on_a).unwrap();
    let mut on_b = form_of(&b.core, id);
    on_b.applicant.name = "马秀英（户主）".into();
    b.core.save_case(on_b).unwrap();

    sync_ok(&a.core).await;
    sync_ok(&b.core).await;
    sync_ok(&a.core).await;

    for device in [&a, &b] {
        let view = device.core.get_case(id).unwrap();
        assert_eq!(view.conflicts.len(), 1, "{:?}", view.conflicts);
        let conflict = &view.conflicts[0];
        assert_eq!(conflict.path, ["applicant", "name"]);
        assert_eq!(conflict.label, "申请人 · 姓名");
        let mut values: Vec<_> = conflict
            .values
            .iter()
            .map(|v| (v.value.clone(), v.author.clone()))
            .collect();
        values.sort();
        let mut expected = vec![
            ("马秀瑛".to_string(), who_a.clone()),
            ("马秀英（户主）".to_string(), who_b.clone()),
        ];
        expected.sort();
        assert_eq!(values, expected);
        assert_eq!(device.core.list_cases("").unwrap()[0].conflicts, 1);
    }

    let resolved = b
        .core
        .resolve_conflict(ResolveRequest {
            case_id: id,
            path: vec!["applicant".into(), "name".into()],
            value: "马秀瑛".into(),
        })
        .unwrap();
    assert!(resolved.conflicts.is_empty());
    sync_ok(&b.core).await;
    sync_ok(&a.core).await;
    for device in [&a, &b] {
        let view = device.core.get_case(id).unwrap();
        assert!(view.conflicts.is_empty());
        assert_eq!(view.form.applicant.name, "马秀瑛");
        assert_eq!(device.core.list_cases("").unwrap()[0].conflicts, 0);
        assert_eq!(device.core.sync_status().unwrap().unsynced_cases, 0);
    }
    let ledger = server.cases("xinghai-v1", "").await;
    assert_eq!(ledger.cases[0].applicant_name, "马秀瑛");
}

/// Syncs interrupted at various points (the proxy cuts responses mid-way), then resumed:
/// every case reaches the server and the other device once, complete.
#[tokio::test]
async fn interrupted_syncs_resume_without_losing_or_duplicating_anything() {
    const CASES: u32 = 40;
    let server = TestServer::start();
    let proxy = FlakyProxy::start(server.addr());
    let a = TestDevice::new();
    let b = TestDevice::new();
    a.enrol(&proxy.url(), "renminlu-v1").await;
    b.enrol(&proxy.url(), "renminlu-v2").await;

    let mut expected = BTreeMap::new();
    for n in 0..CASES {
        let members: Vec<(&str, &str)> = [
            ("配偶甲", "spouse"),
            ("子女乙", "child"),
            ("父亲丙", "parent"),
        ][..(n % 4) as usize]
            .to_vec();
        let name = format!("申请人{n:02}");
        a.core
            .save_case(household(&name, 100 + n, &members))
            .unwrap();
        expected.insert(name, 1 + members.len() as u32);
    }
    assert_eq!(a.core.sync_status().unwrap().unsynced_cases, CASES);

    // The server seems down: nothing happens, nothing is lost.
    proxy.set_mode(ProxyMode::Refuse);
    let err = a.core.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Network);
    assert_eq!(a.core.sync_status().unwrap().unsynced_cases, CASES);

    // Push, cut later and later in the answers until a run gets through.
    let cuts = || proxy.stats().cuts.load(Ordering::SeqCst);
    let (mut cut_runs, mut progress_kept) = (0, false);
    for limit in (1..).map(|i| i * 1_500) {
        proxy.set_mode(ProxyMode::CutResponsesAfter(limit));
        let (cuts_before, unsynced_before) = (cuts(), a.core.sync_status().unwrap().unsynced_cases);
        let Err(e) = a.core.sync_now().await else {
            break;
        };
        assert_eq!(e.code, ErrorCode::Network, "{e:?}");
        assert!(cuts() > cuts_before, "failed without a cut: {e:?}");
        let status = a.core.sync_status().unwrap();
        assert_eq!(status.state, SyncState::Offline);
        // A cut loses at most the round in flight: what earlier rounds did is kept.
        progress_kept |= status.unsynced_cases < unsynced_before;
        cut_runs += 1;
        assert!(limit < 200_000, "never got through");
    }
    assert!(cut_runs >= 2, "the proxy interrupted only {cut_runs} runs");
    assert!(
        progress_kept,
        "no interrupted run kept the rounds it completed"
    );
    proxy.set_mode(ProxyMode::Forward);
    sync_ok(&a.core).await;
    assert_eq!(a.core.sync_status().unwrap().unsynced_cases, 0);

    let ledger = server.cases("renminlu-sup", "limit=1000").await;
    assert_eq!(ledger.total, u64::from(CASES));
    let on_server: BTreeMap<_, _> = ledger
        .cases
        .iter()
        .map(|c| (c.applicant_name.clone(), c.member_count))
        .collect();
    assert_eq!(on_server, expected, "each case once, with its household");

    // Pull on the other device, cut likewise. Half-received cases are never listed.
    cut_runs = 0;
    for limit in (1..).map(|i| i * 1_500) {
        proxy.set_mode(ProxyMode::CutResponsesAfter(limit));
        if b.core.sync_now().await.is_ok() {
            break;
        }
        cut_runs += 1;
        for row in b.core.list_cases("").unwrap() {
            assert_eq!(Some(&row.member_count), expected.get(&row.applicant_name));
        }
        assert!(limit < 500_000, "never got through");
    }
    assert!(cut_runs >= 2, "the proxy interrupted only {cut_runs} runs");
    proxy.set_mode(ProxyMode::Forward);
    sync_ok(&b.core).await;
    let on_b: BTreeMap<_, _> = b
        .core
        .list_cases("")
        .unwrap()
        .into_iter()
        .map(|c| (c.applicant_name, c.member_count))
        .collect();
    assert_eq!(on_b, expected);
    assert_eq!(b.core.list_cases("").unwrap().len(), CASES as usize);
    for row in a.core.list_cases("").unwrap() {
        assert_eq!(form_of(&b.core, row.case_id), form_of(&a.core, row.case_id));
    }
    assert_eq!(b.core.sync_status().unwrap().unsynced_cases, 0);

    // Settled: the next sync of either device is one empty request.
    for device in [&a, &b] {
        let report = sync_ok(&device.core).await;
        assert_eq!((report.rounds, report.docs_sent), (1, 0), "{report:?}");
    }
}

/// A sync with nothing to do is one request without documents, however many cases the
/// device holds.
#[tokio::test]
async fn a_sync_with_nothing_to_do_is_one_empty_request() {
    let server = TestServer::start();
    let proxy = FlakyProxy::start(server.addr());
    let a = TestDevice::new();
    a.enrol(&proxy.url(), "goukou-v1").await;
    for n in 0..25 {
        a.core
            .save_case(household(
                &format!("住户{n}"),
                300 + n,
                &[("配偶", "spouse")],
            ))
            .unwrap();
    }
    let first = sync_ok(&a.core).await;
    assert_eq!(first.docs_sent, 50, "pushed, then checked once: {first:?}");
    assert_eq!(first.rounds, 2, "{first:?}");

    let up = proxy.stats().bytes_up.load(Ordering::SeqCst);
    let report = sync_ok(&a.core).await;
    assert_eq!(report.rounds, 1);
    assert_eq!(report.docs_sent, 0);
    assert_eq!(report.docs_received, 0);
    assert!(report.bytes_sent < 16, "{report:?}");
    let request_bytes = proxy.stats().bytes_up.load(Ordering::SeqCst) - up;
    assert!(
        request_bytes < 1_000,
        "one small request on the wire, saw {request_bytes} bytes"
    );
    let status = a.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Synced);
    assert!(status.last_synced_at_ms.is_some());
}

/// With the server down, capture goes on and the status says offline with the count of
/// unsynced cases; when the server is back, the sync completes.
#[tokio::test]
async fn offline_capture_syncs_once_the_server_is_back() {
    let mut server = TestServer::start();
    let a = TestDevice::new();
    a.enrol(&server.url(), "changxing-v1").await;
    server.stop();

    let first = a.core.save_case(household("丁桂兰", 400, &[])).unwrap();
    a.core
        .save_case(household("周文海", 401, &[("配偶", "spouse")]))
        .unwrap();
    let err = a.core.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Network);
    assert_eq!(err.message, "无法连接服务器，数据已保存在本机");
    let status = a.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Offline);
    assert_eq!(status.unsynced_cases, 2);
    assert_eq!(status.last_error.as_deref(), Some(err.message.as_str()));
    assert!(a.core.list_cases("").unwrap().iter().all(|c| c.unsynced));
    // Editing goes on offline.
    let mut edit = form_of(&a.core, first);
    edit.applicant.phone = "13995200400".into();
    a.core.save_case(edit).unwrap();

    server.restart();
    sync_ok(&a.core).await;
    let status = a.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Synced);
    assert_eq!(status.unsynced_cases, 0);
    assert_eq!(status.last_error, None);
    let ledger = server.cases("changxing-v1", "").await;
    assert_eq!(ledger.total, 2);
    assert!(a.core.list_cases("").unwrap().iter().all(|c| !c.unsynced));
}

/// A wrong password and a revoked device are told apart from being offline.
#[tokio::test]
async fn refusals_are_reported_as_such() {
    let server = TestServer::start();
    let a = TestDevice::new();
    let err = a
        .core
        .enrol(hecha_shared::app_api::EnrolRequest {
            server_url: server.url(),
            username: "jinlin-v1".into(),
            password: "wrong".into(),
            code: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadCredentials);
    assert_eq!(err.message, "用户名或密码错误");

    let session = a.enrol(&server.url(), "jinlin-v1").await;
    a.core.save_case(household("孙玉珍", 500, &[])).unwrap();
    assert!(server.state().revoke_device(session.device_id).unwrap());
    let err = a.core.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Revoked);
    assert_eq!(err.message, "本设备已被停用");
    let status = a.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Revoked);
    assert_eq!(status.unsynced_cases, 1);
    assert_eq!(status.unsynced_case_names, ["孙玉珍"]);
}

/// The background loop syncs at start and whenever nudged (as the app does after a save).
#[tokio::test]
async fn the_background_loop_syncs_when_nudged() {
    let server = TestServer::start();
    let a = TestDevice::new();
    a.enrol(&server.url(), "baijigou-v1").await;
    let handle = a.core.spawn_sync_loop(std::time::Duration::from_secs(3600));
    a.core.save_case(household("白玉兰", 600, &[])).unwrap();
    a.core.nudge_sync();
    let mut waited = 0;
    while a.core.sync_status().unwrap().unsynced_cases > 0 {
        assert!(waited < 200, "the nudged loop did not sync");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        waited += 1;
    }
    assert_eq!(server.cases("baijigou-v1", "").await.total, 1);
    handle.abort();
}

/// Another account taking over a device finds none of the previous account's cases there
/// (they were synced first), and gets its own unit's cases instead.
#[tokio::test]
async fn another_account_on_the_device_sees_only_its_own_units_cases() {
    let server = TestServer::start();
    let other = TestDevice::new();
    other.enrol(&server.url(), "qingshan-v1").await;
    other
        .core
        .save_case(household("青山住户", 700, &[]))
        .unwrap();
    sync_ok(&other.core).await;

    let a = TestDevice::new();
    a.enrol(&server.url(), "changcheng-v1").await;
    a.core.save_case(household("长城住户", 701, &[])).unwrap();
    sync_ok(&a.core).await;
    // Logging in again as the same account keeps everything.
    a.enrol(&server.url(), "changcheng-v1").await;
    assert_eq!(a.core.list_cases("").unwrap().len(), 1);

    a.enrol(&server.url(), "qingshan-v1").await;
    assert!(a.core.list_cases("").unwrap().is_empty());
    sync_ok(&a.core).await;
    let names: Vec<_> = a
        .core
        .list_cases("")
        .unwrap()
        .into_iter()
        .map(|c| c.applicant_name)
        .collect();
    assert_eq!(names, ["青山住户"]);
}

/// A person keeps editing while a sync runs (the background loop does not wait for the
/// form): no edit is lost, and none is marked synced before the server holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_during_a_sync_are_not_lost() {
    let server = TestServer::start();
    let a = TestDevice::new();
    let b = TestDevice::new();
    a.enrol(&server.url(), "shitanjing-v1").await;
    b.enrol(&server.url(), "shitanjing-v1").await;
    let ids: Vec<CaseId> = (0..30)
        .map(|n| {
            a.core
                .save_case(household(&format!("石炭井住户{n}"), 800 + n, &[]))
                .unwrap()
        })
        .collect();

    let syncing = tokio::spawn({
        let core = a.core.clone();
        async move { core.sync_now().await }
    });
    let mut edits = 0;
    for round in 0.. {
        for (n, id) in ids.iter().enumerate() {
            let mut form = form_of(&a.core, *id);
            form.applicant.phone = format!("139952{round:02}{n:03}");
            a.core.save_case(form).unwrap();
            edits += 1;
        }
        if syncing.is_finished() || round == 20 {
            break;
        }
        tokio::task::yield_now().await;
    }
    syncing.await.unwrap().unwrap();
    assert!(edits >= 30);

    sync_ok(&a.core).await;
    assert_eq!(a.core.sync_status().unwrap().unsynced_cases, 0);
    sync_ok(&b.core).await;
    for id in &ids {
        assert_eq!(form_of(&b.core, *id), form_of(&a.core, *id));
    }
}
