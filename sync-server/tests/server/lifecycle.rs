//! Scope and the device lifecycle as people meet them: one-time enrolment codes (made by
//! IT or a supervisor, redeemed once, expiring), revocation with a reason, read-only
//! accounts, the bureau's spot-check assignments, transfers between units and a verifier
//! moved to another unit — each seen through the real router, and through what the
//! devices concerned are told at their next sync.

use automerge::sync::SyncDoc;
use automerge::Automerge;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use hecha_server::enrol;
use hecha_shared::api::{
    AssignmentList, AuditList, EnrolCode, LoginResponse, TransferResponse, UserInfo,
};
use hecha_shared::case::{read_case, write_case};
use hecha_shared::sync::{Cursor, DocReply, SyncRequest, SyncResponse};
use hecha_shared::{CaseId, UnitId};

use crate::support::{actor_for, error_of, note, push_all, sample_case, TestServer};

async fn post_json(
    server: &TestServer,
    token: Option<&str>,
    uri: &str,
    body: serde_json::Value,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    server
        .send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn redeem(server: &TestServer, code: &str, actor: &str) -> (StatusCode, Vec<u8>) {
    post_json(
        server,
        None,
        "/api/v1/enrol",
        serde_json::json!({"code": code, "device_name": "新手机", "actor_id": actor}),
    )
    .await
}

/// A case created in `unit` by `creator`'s device; returns its id.
async fn case_in(server: &TestServer, creator: &str, unit: &str, name: &str) -> CaseId {
    let id = CaseId::new_random();
    let mut phone = server.device(creator).await;
    phone.create_case(&sample_case(id, unit, name, "", 1));
    let report = phone.sync(server).await;
    assert!(report.rejected.is_empty() && report.unavailable.is_empty());
    id
}

/// What a device with `cursor` is told by a sync with no documents.
async fn listen(server: &TestServer, token: &str, cursor: Cursor) -> SyncResponse {
    server
        .sync(token, &SyncRequest::new(cursor, Vec::new()))
        .await
}

async fn audit_actions(server: &TestServer) -> Vec<(String, String, Option<String>)> {
    let bureau = server.login("bureau-staff").await;
    let list: AuditList = server.get_json(&bureau.token, "/api/v1/audit").await;
    list.entries
        .into_iter()
        .map(|e| (e.action, e.target, e.reason))
        .collect()
}

#[tokio::test]
async fn an_enrolment_code_enrols_one_device_once_and_expires() {
    let server = TestServer::new();
    // IT at the command line.
    let code = server
        .state
        .create_enrol_code("chaoyang-v1", 30, "http://10.0.0.2:8080")
        .unwrap();
    assert_eq!(code.display_name, "朝阳街道核查员1");
    assert!(code
        .qr_payload
        .starts_with("hecha-enrol:?server=http%3A%2F%2F10.0.0.2%3A8080&code="));
    assert!(code.qr_svg.contains("<svg"));

    let actor = actor_for("chaoyang-v1").to_hex_string();
    // Typed by hand: lower case, spaces instead of dashes.
    let typed = code.code.to_lowercase().replace('-', " ");
    let (status, body) = redeem(&server, &typed, &actor).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let login: LoginResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(login.user.username, "chaoyang-v1");
    let me: UserInfo = server.get_json(&login.token, "/api/v1/me").await;
    assert_eq!(me.unit.as_str(), "chaoyang");

    // Once only, whatever actor the second phone brings.
    let (status, body) = redeem(&server, &code.code, &actor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).error, "bad_enrol_code");

    // A code not redeemed within its time is refused the same way.
    let late = server
        .state
        .create_enrol_code("chaoyang-v1", 30, "")
        .unwrap();
    server.advance(30 * 60_000 + 1);
    let (status, body) = redeem(&server, &late.code, &actor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).error, "bad_enrol_code");
    // And a made-up one.
    let (status, _) = redeem(&server, "ABCD-EFGH-JKMN", &actor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Redemption binds the actor: another user's code cannot reuse this actor.
    let other = server
        .state
        .create_enrol_code("chaoyang-sup", 30, "")
        .unwrap();
    let (status, body) = redeem(&server, &other.code, &actor).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_of(&body).error, "actor_in_use");

    let actions = audit_actions(&server).await;
    assert!(actions
        .iter()
        .any(|(a, t, _)| a == "create_enrol_code" && t == "chaoyang-v1"));
    assert!(actions
        .iter()
        .any(|(a, t, _)| a == "enrol_device" && t == &login.device_id.to_string()));
}

#[tokio::test]
async fn supervisors_make_codes_for_their_units_users_and_it_for_anyone() {
    let server = TestServer::new();
    let sup = server.login("chaoyang-sup").await;
    let (status, body) = post_json(
        &server,
        Some(&sup.token),
        "/api/v1/enrol-codes",
        serde_json::json!({"user": "chaoyang-v1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let code: EnrolCode = serde_json::from_slice(&body).unwrap();
    assert!(enrol::normalise(&code.code).is_some());
    assert!(code.qr_svg.starts_with("<?xml"));

    for (who, target, expected) in [
        ("chaoyang-sup", "xinghai-v1", StatusCode::FORBIDDEN),
        ("chaoyang-sup", "bureau-staff", StatusCode::FORBIDDEN),
        ("chaoyang-v1", "chaoyang-v1", StatusCode::FORBIDDEN),
        ("bureau-staff", "chaoyang-v1", StatusCode::FORBIDDEN),
        ("it-admin", "xinghai-v1", StatusCode::OK),
        ("it-admin", "nobody", StatusCode::BAD_REQUEST),
    ] {
        let login = server.login(who).await;
        let (status, _) = post_json(
            &server,
            Some(&login.token),
            "/api/v1/enrol-codes",
            serde_json::json!({ "user": target }),
        )
        .await;
        assert_eq!(status, expected, "{who} → {target}");
    }
}

#[tokio::test]
async fn a_revoked_device_is_told_why_and_a_disabled_account_cannot_log_in() {
    let server = TestServer::new();
    let phone = server.login("renminlu-v1").await;
    assert!(server
        .state
        .revoke_device_with_reason(phone.device_id, Some("手机遗失"))
        .unwrap());
    let (status, body) = server.get(&phone.token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let error = error_of(&body);
    assert_eq!(error.error, "device_revoked");
    assert_eq!(error.reason.as_deref(), Some("手机遗失"));
    assert!(error.message.contains("手机遗失"));
    let (status, _) = server
        .sync_raw(&phone.token, SyncRequest::new(Cursor(0), vec![]).encode())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let listed = server.state.list_devices().unwrap();
    let row = listed
        .iter()
        .find(|d| d.device_id == phone.device_id)
        .unwrap();
    assert_eq!(row.revoke_reason.as_deref(), Some("手机遗失"));

    let other = server.login("renminlu-v2").await;
    assert_eq!(
        server
            .state
            .disable_user("renminlu-v2", Some("离职"))
            .unwrap(),
        1
    );
    let (status, body) = server.get(&other.token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&body).reason.as_deref(), Some("离职"));
    let (status, body) = server
        .login_raw("renminlu-v2", crate::support::PASSWORD)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).error, "bad_credentials");
    assert!(server
        .state
        .create_enrol_code("renminlu-v2", 30, "")
        .is_err());
}

#[tokio::test]
async fn a_read_only_account_receives_cases_but_its_changes_are_refused() {
    let server = TestServer::new();
    let id = case_in(&server, "changxing-v1", "changxing", "只读户").await;
    server
        .state
        .set_user_read_only("changxing-sup", true)
        .unwrap();
    let observer = server.login("changxing-sup").await;
    assert!(observer.user.read_only);

    // It still receives the case.
    let ask = Automerge::new()
        .generate_sync_message(&mut automerge::sync::State::new())
        .unwrap()
        .encode();
    assert!(matches!(
        server.sync_one(&observer.token, id, ask).await,
        DocReply::Message(_)
    ));
    // Its edit is refused with a reason, and nothing of it is stored.
    let bureau = server.login("bureau-staff").await;
    let uri = format!("/api/v1/cases/{id}/document.automerge");
    let (_, before) = server.get(&bureau.token, &uri).await;
    let mut doc = Automerge::load(&before)
        .unwrap()
        .with_actor(actor_for("changxing-sup"));
    let mut case = read_case(&doc).unwrap();
    case.applicant.phone = "13900000000".into();
    write_case(&mut doc, &case, &note("save"), 5).unwrap();
    match server.sync_one(&observer.token, id, push_all(&doc)).await {
        DocReply::Rejected { reason, .. } => assert!(reason.contains("只读"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (_, after) = server.get(&bureau.token, &uri).await;
    assert_eq!(after, before);
    // Writable again: the same change goes in.
    server
        .state
        .set_user_read_only("changxing-sup", false)
        .unwrap();
    assert!(matches!(
        server.sync_one(&observer.token, id, push_all(&doc)).await,
        DocReply::Message(_)
    ));
}

#[tokio::test]
async fn the_bureaus_verifiers_see_only_what_is_assigned_to_them() {
    let server = TestServer::new();
    let id = case_in(&server, "jinlin-v1", "jinlin", "抽查户").await;
    let checker = server.login("bureau-v2").await;
    let history = format!("/api/v1/cases/{id}/history");
    assert_eq!(
        server.get(&checker.token, &history).await.0,
        StatusCode::NOT_FOUND
    );
    let start = listen(&server, &checker.token, Cursor(0)).await;
    assert!(!start.changed.contains(&id));

    // Bureau staff assign it for a spot check.
    let bureau = server.login("bureau-staff").await;
    let assign = format!("/api/v1/cases/{id}/assign");
    let (status, body) = post_json(
        &server,
        Some(&bureau.token),
        &assign,
        serde_json::json!({"user": "bureau-v2"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let list: AssignmentList = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.assignments.len(), 1);
    assert_eq!(list.assignments[0].username, "bureau-v2");
    assert_eq!(
        list.assignments[0].assigned_by.as_deref(),
        Some("bureau-staff")
    );

    // The checker's next sync lists it; the case reads; the ledger lists it.
    let told = listen(&server, &checker.token, start.cursor).await;
    assert_eq!(told.changed, vec![id]);
    assert_eq!(server.get(&checker.token, &history).await.0, StatusCode::OK);
    let cases = server.cases(&checker.token, "").await;
    assert_eq!(
        cases.cases.iter().map(|c| c.case_id).collect::<Vec<_>>(),
        vec![id]
    );
    // Another bureau verifier still sees nothing of it.
    let other = server.login("bureau-v3").await;
    assert_eq!(
        server.get(&other.token, &history).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(server.cases(&other.token, "").await.cases.is_empty());
    // A verifier may not assign; a supervisor of another unit may not either.
    for who in ["jinlin-v1", "xinghai-sup"] {
        let login = server.login(who).await;
        let (status, _) = post_json(
            &server,
            Some(&login.token),
            &assign,
            serde_json::json!({"user": "bureau-v3"}),
        )
        .await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            "{who}: {status}"
        );
    }

    // Withdrawn: the checker's device is told to drop it.
    let (status, _) = server
        .send(
            Request::delete(format!("/api/v1/cases/{id}/assign/bureau-v2"))
                .header(header::AUTHORIZATION, format!("Bearer {}", bureau.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let dropped = listen(&server, &checker.token, told.cursor).await;
    assert_eq!(dropped.gone, vec![id]);
    assert_eq!(
        server.get(&checker.token, &history).await.0,
        StatusCode::NOT_FOUND
    );
    // Told again if it asks again with the same cursor (a lost answer loses nothing).
    assert_eq!(
        listen(&server, &checker.token, told.cursor).await.gone,
        vec![id]
    );
    // The unit's own verifier is never told to drop it.
    let owner = server.login("jinlin-v1").await;
    assert!(listen(&server, &owner.token, Cursor(0))
        .await
        .gone
        .is_empty());

    let actions = audit_actions(&server).await;
    let target = format!("{id}:bureau-v2");
    assert!(actions
        .iter()
        .any(|(a, t, _)| a == "assign_case" && t == &target));
    assert!(actions
        .iter()
        .any(|(a, t, _)| a == "unassign_case" && t == &target));

    // A case a bureau verifier creates is theirs (assigned at creation).
    let own = case_in(&server, "bureau-v3", "bureau", "局里发现户").await;
    let mine: Vec<_> = server
        .cases(&other.token, "")
        .await
        .cases
        .into_iter()
        .map(|c| c.case_id)
        .collect();
    assert_eq!(mine, vec![own]);
}

#[tokio::test]
async fn a_transferred_case_leaves_the_old_units_devices_and_reaches_the_new_ones() {
    let server = TestServer::new();
    let id = case_in(&server, "qingshan-v1", "qingshan", "迁出户").await;
    let old = server.login("qingshan-v1").await;
    let new = server.login("changcheng-v1").await;
    let old_cursor = listen(&server, &old.token, Cursor(0)).await.cursor;
    let new_cursor = listen(&server, &new.token, Cursor(0)).await.cursor;

    let bureau = server.login("bureau-staff").await;
    let transfer = format!("/api/v1/cases/{id}/transfer");
    let (status, _) = post_json(
        &server,
        Some(&old.token),
        &transfer,
        serde_json::json!({"unit": "changcheng", "reason": "户籍迁移"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only bureau staff transfer");
    let (status, body) = post_json(
        &server,
        Some(&bureau.token),
        &transfer,
        serde_json::json!({"unit": "changcheng", "reason": "户籍迁移"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let moved: TransferResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (moved.from_unit.as_str(), moved.unit.as_str()),
        ("qingshan", "changcheng")
    );
    assert_eq!(moved.unit_name, "长城街道");

    let at_old = listen(&server, &old.token, old_cursor).await;
    assert_eq!(at_old.gone, vec![id]);
    assert!(!at_old.changed.contains(&id));
    let at_new = listen(&server, &new.token, new_cursor).await;
    assert_eq!(at_new.changed, vec![id]);
    assert!(at_new.gone.is_empty());
    let doc = format!("/api/v1/cases/{id}/document");
    assert_eq!(server.get(&old.token, &doc).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&new.token, &doc).await.0, StatusCode::OK);

    let (status, body) = post_json(
        &server,
        Some(&bureau.token),
        &transfer,
        serde_json::json!({"unit": "changcheng", "reason": " "}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a transfer needs a reason");
    assert_eq!(error_of(&body).error, "bad_request");
    let actions = audit_actions(&server).await;
    assert!(actions.iter().any(|(a, t, r)| a == "transfer_case"
        && t == &format!("{id}:qingshan->changcheng")
        && r.as_deref() == Some("户籍迁移")));
}

#[tokio::test]
async fn a_verifier_moved_to_another_unit_drops_the_old_units_cases_and_gets_the_new_ones() {
    let server = TestServer::new();
    let old_case = case_in(&server, "xinghai-v1", "xinghai", "星海老户").await;
    let new_case = case_in(&server, "renminlu-v1", "renminlu", "人民路老户").await;
    let mover = server.login("xinghai-v2").await;
    let first = listen(&server, &mover.token, Cursor(0)).await;
    assert_eq!(first.changed, vec![old_case]);

    server
        .state
        .set_user_unit("xinghai-v2", &UnitId::new("renminlu").unwrap())
        .unwrap();
    let next = listen(&server, &mover.token, first.cursor).await;
    assert_eq!(next.gone, vec![old_case]);
    assert_eq!(next.changed, vec![new_case], "the new unit's older cases");
    // Caught up: nothing more to drop or fetch.
    let after = listen(&server, &mover.token, next.cursor).await;
    assert!(
        after.gone.is_empty() && after.changed.is_empty(),
        "{after:?} after {next:?}"
    );
    // The colleague who stayed keeps the case.
    let stayer = server.login("xinghai-v1").await;
    assert!(listen(&server, &stayer.token, first.cursor)
        .await
        .gone
        .is_empty());
    assert_eq!(
        server
            .state
            .list_units()
            .unwrap()
            .iter()
            .find(|u| u.unit.as_str() == "renminlu")
            .unwrap()
            .users,
        4
    );
}

#[tokio::test]
async fn an_old_app_speaking_protocol_1_is_still_answered_in_its_own_layout() {
    let server = TestServer::new();
    let login = server.login("goukou-v1").await;
    let mut request = SyncRequest::new(Cursor(0), vec![]);
    request.protocol = 1;
    let (status, body) = server.sync_raw(&login.token, request.encode()).await;
    assert_eq!(status, StatusCode::OK);
    let answer = SyncResponse::decode(&body).unwrap();
    assert_eq!(answer.protocol, 1);
    assert!(answer.gone.is_empty());
}
