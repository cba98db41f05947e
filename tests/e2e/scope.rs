//! End-to-end scope and device lifecycle: real app cores on temp dirs against a real
//! server on 127.0.0.1. What is checked is what the people concerned would see: which
//! cases a moved verifier's phone still lists, what a phone whose case was transferred
//! away says about its unsynced edit, what a revoked phone tells its user and that it
//! holds nothing once they have read it, and a phone enrolled with a one-time code.

use hecha_e2e::{TestDevice, TestServer};
use hecha_shared::app_api::{EnrolRequest, ErrorCode, SyncState};
use hecha_shared::case::{ApplicantForm, CaseForm};
use hecha_shared::id_number::with_check_digit;
use hecha_shared::{CaseId, UnitId};

fn household(name: &str, n: u32) -> CaseForm {
    let first17 = format!(
        "6402021975{:02}{:02}{:03}",
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    CaseForm {
        applicant: ApplicantForm {
            name: name.into(),
            id_number: with_check_digit(&first17)
                .unwrap_or_else(|| panic!("fixture id {first17}"))
                .to_string(),
            address: "大武口区".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn names(device: &TestDevice) -> Vec<String> {
    let mut names: Vec<String> = device
        .core
        .list_cases("")
        .expect("the case list")
        .into_iter()
        .map(|c| c.applicant_name)
        .collect();
    names.sort();
    names
}

async fn sync_ok(device: &TestDevice) -> hecha_shared::app_api::SyncReport {
    device
        .core
        .sync_now()
        .await
        .unwrap_or_else(|e| panic!("sync failed: {e:?}"))
}

#[tokio::test]
async fn a_reassigned_verifiers_phone_drops_the_old_units_cases_at_its_next_sync() {
    let server = TestServer::start();
    let colleague = TestDevice::new();
    let mover = TestDevice::new();
    let street = TestDevice::new();
    colleague.enrol(&server.url(), "xinghai-v1").await;
    mover.enrol(&server.url(), "xinghai-v2").await;
    street.enrol(&server.url(), "renminlu-v1").await;
    colleague.core.save_case(household("星海甲户", 1)).unwrap();
    street.core.save_case(household("人民路乙户", 2)).unwrap();
    sync_ok(&colleague).await;
    sync_ok(&street).await;
    sync_ok(&mover).await;
    assert_eq!(names(&mover), ["星海甲户"]);

    // IT moves the verifier to 人民路街道.
    server
        .state()
        .set_user_unit("xinghai-v2", &UnitId::new("renminlu").unwrap())
        .unwrap();
    let report = sync_ok(&mover).await;
    assert_eq!(report.docs_dropped, 1);
    assert_eq!(names(&mover), ["人民路乙户"]);
    let status = mover.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Synced);
    assert!(status.left_scope_unsynced.is_empty());
    // The colleague who stayed keeps the case.
    sync_ok(&colleague).await;
    assert_eq!(names(&colleague), ["星海甲户"]);
}

#[tokio::test]
async fn a_case_transferred_away_with_an_unsynced_edit_is_reported_not_dropped() {
    let server = TestServer::start();
    let phone = TestDevice::new();
    let other = TestDevice::new();
    phone.enrol(&server.url(), "qingshan-v1").await;
    other.enrol(&server.url(), "qingshan-sup").await;
    let moving = phone.core.save_case(household("迁出户", 3)).unwrap();
    phone.core.save_case(household("留下户", 4)).unwrap();
    sync_ok(&phone).await;
    sync_ok(&other).await;

    // Offline, the verifier corrects the phone number of the household being moved…
    let mut form = phone.core.get_case(moving).unwrap().form;
    form.applicant.phone = "13912345678".into();
    phone.core.save_case(form).unwrap();
    // …while the bureau transfers it to 长城街道.
    let bureau = server.login("bureau-staff").await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/cases/{moving}/transfer", server.url()))
        .bearer_auth(&bureau.token)
        .json(&serde_json::json!({"unit": "changcheng", "reason": "户籍迁移"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    // The supervisor's tablet (nothing unsynced) simply drops it.
    sync_ok(&other).await;
    assert_eq!(names(&other), ["留下户"]);
    // The verifier's phone keeps its edited copy and says so.
    sync_ok(&phone).await;
    assert_eq!(names(&phone), ["留下户", "迁出户"]);
    let status = phone.core.sync_status().unwrap();
    assert_eq!(status.left_scope_unsynced, ["迁出户"]);
    let case = phone.core.get_case(moving).unwrap();
    assert_eq!(case.form.applicant.phone, "13912345678");
    // The new unit receives the case (without the phone's unsent edit).
    let new_unit = TestDevice::new();
    new_unit.enrol(&server.url(), "changcheng-v1").await;
    sync_ok(&new_unit).await;
    assert_eq!(names(&new_unit), ["迁出户"]);
}

#[tokio::test]
async fn a_revoked_phone_is_told_why_lists_what_is_lost_and_is_wiped_once_acknowledged() {
    let server = TestServer::start();
    let phone = TestDevice::new();
    // Enrolled with a one-time code from IT (as scanned from its QR code), no password.
    let code = server
        .state()
        .create_enrol_code("goukou-v1", 30, &server.url())
        .unwrap();
    let session = phone
        .core
        .enrol(EnrolRequest {
            server_url: server.url(),
            code: Some(code.code.clone()),
            ..Default::default()
        })
        .await
        .expect("enrol with a code");
    assert_eq!(session.username, "goukou-v1");
    // The code works once.
    let again = TestDevice::new();
    let err = again
        .core
        .enrol(EnrolRequest {
            server_url: server.url(),
            code: Some(code.code),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadCredentials);
    assert!(err.message.contains("登记码"), "{}", err.message);

    phone.core.save_case(household("已同步户", 5)).unwrap();
    sync_ok(&phone).await;
    phone.core.save_case(household("未同步户", 6)).unwrap();
    // Acknowledging is refused while the phone is not revoked.
    assert!(phone.core.acknowledge_revocation().is_err());
    assert_eq!(names(&phone), ["已同步户", "未同步户"]);

    let device_id = session.device_id;
    assert!(server
        .state()
        .revoke_device_with_reason(device_id, Some("手机遗失"))
        .unwrap());
    let err = phone.core.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Revoked);
    assert!(err.message.contains("手机遗失"), "{}", err.message);
    let status = phone.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Revoked);
    assert_eq!(status.revocation_reason.as_deref(), Some("手机遗失"));
    assert_eq!(status.unsynced_case_names, ["未同步户"]);
    // Nothing more is tried: the next attempt answers the same without the server.
    let err = phone.core.sync_now().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Revoked);

    // The server still holds what was synced.
    let ledger = server.cases("bureau-staff", "").await;
    assert_eq!(ledger.total, 1);

    phone.core.acknowledge_revocation().expect("wipe");
    assert!(names(&phone).is_empty());
    assert_eq!(phone.core.session().unwrap(), None);
    assert_eq!(
        phone.core.sync_status().unwrap().state,
        SyncState::NotEnrolled
    );
    assert!(!phone.data_dir().join("blobs").exists());
    let unknown: CaseId = CaseId::new_random();
    assert!(phone.core.get_case(unknown).is_err());
    // The wiped phone can be enrolled again (with a fresh identity).
    phone.enrol(&server.url(), "goukou-v1").await;
}
