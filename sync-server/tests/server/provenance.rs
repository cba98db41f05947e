//! Provenance: a device brings only changes written with the actor it registered at
//! login; another user's actor id cannot be registered; relaying changes the server has
//! already is fine.

use automerge::{ActorId, Automerge};
use axum::http::StatusCode;
use hecha_shared::case::{create_document, read_case, write_case};
use hecha_shared::sync::{Cursor, DocReply, SyncRequest};
use hecha_shared::CaseId;

use crate::support::{actor_for, error_of, note, push_all, sample_case, TestServer, PASSWORD};

const ID: &str = "11010519491231002X";

/// What the server holds of a case, as a fresh bureau device pulls it.
async fn server_copy(server: &TestServer, id: CaseId) -> Automerge {
    let mut reader = server.device("bureau-staff").await;
    reader.sync(server).await;
    reader.docs.remove(&id).expect("the bureau pulls the case")
}

/// The server's change sequence: moves with every stored write.
async fn change_seq(server: &TestServer, token: &str) -> Cursor {
    let mut cursor = Cursor(0);
    loop {
        let response = server.sync(token, &SyncRequest::new(cursor, vec![])).await;
        cursor = response.cursor;
        if !response.more {
            return cursor;
        }
    }
}

#[tokio::test]
async fn a_change_written_with_another_devices_actor_is_rejected_and_nothing_is_written() {
    let server = TestServer::new();
    let mut owner = server.device("chaoyang-v1").await;
    let id = owner.create_case(&sample_case(
        CaseId::new_random(),
        "chaoyang",
        "王秀兰",
        ID,
        1,
    ));
    owner.sync(&server).await;
    let before = server_copy(&server, id).await;
    let supervisor = server.device("chaoyang-sup").await;
    let seq_before = change_seq(&server, supervisor.token()).await;

    // The supervisor's device forges an edit in the verifier's name.
    let mut forged = before.fork().with_actor(actor_for("chaoyang-v1"));
    let mut case = read_case(&forged).unwrap();
    case.applicant.name = "冒名修改".into();
    write_case(&mut forged, &case, &note("save"), 5).unwrap();
    let reply = server
        .sync_one(supervisor.token(), id, push_all(&forged))
        .await;
    let DocReply::Rejected { case_id, reason } = reply else {
        panic!("expected a rejection, got {reply:?}");
    };
    assert_eq!(case_id, id);
    assert!(reason.contains("不是本设备写入"), "{reason}");

    // An actor nobody registered is refused the same way.
    let mut stranger = before.fork().with_actor(ActorId::from([0x77; 16]));
    write_case(&mut stranger, &case, &note("save"), 6).unwrap();
    let reply = server
        .sync_one(supervisor.token(), id, push_all(&stranger))
        .await;
    assert!(matches!(reply, DocReply::Rejected { .. }), "{reply:?}");

    // A whole new case written with someone else's actor does not enter either.
    let new_id = CaseId::new_random();
    let foreign_new = create_document(
        actor_for("chaoyang-v1"),
        &sample_case(new_id, "chaoyang", "新户", "", 0),
        &note("create"),
        1,
    )
    .unwrap();
    let reply = server
        .sync_one(supervisor.token(), new_id, push_all(&foreign_new))
        .await;
    assert!(matches!(reply, DocReply::Rejected { .. }), "{reply:?}");

    // The server's copy is as it was: same heads, same name, no new write, no new case.
    assert_eq!(change_seq(&server, supervisor.token()).await, seq_before);
    let after = server_copy(&server, id).await;
    assert_eq!(after.get_heads(), before.get_heads());
    assert_eq!(read_case(&after).unwrap().applicant.name, "王秀兰");
    let ledger = server.cases(supervisor.token(), "").await;
    assert_eq!(ledger.total, 1);
    assert_eq!(ledger.cases[0].applicant_name, "王秀兰");
}

#[tokio::test]
async fn a_devices_own_changes_are_accepted() {
    let server = TestServer::new();
    let mut phone = server.device("changsheng-v1").await;
    let id = phone.create_case(&sample_case(
        CaseId::new_random(),
        "changsheng",
        "孙七",
        ID,
        0,
    ));
    let report = phone.sync(&server).await;
    assert!(report.rejected.is_empty(), "{report:?}");
    phone.edit_case(id, |c| c.applicant.phone = "13900000000".into());
    let report = phone.sync(&server).await;
    assert!(report.rejected.is_empty(), "{report:?}");
    let copy = server_copy(&server, id).await;
    assert_eq!(copy.get_heads(), phone.docs[&id].get_heads());
    assert_eq!(read_case(&copy).unwrap().applicant.phone, "13900000000");

    // A second login of the same user on the same installation keeps its actor.
    let mut again = server.device("changsheng-v1").await;
    again.docs.insert(id, phone.docs[&id].clone());
    again.edit_case(id, |c| c.applicant.address = "长胜路2号".into());
    let report = again.sync(&server).await;
    assert!(report.rejected.is_empty(), "{report:?}");
}

#[tokio::test]
async fn changes_the_server_already_has_may_come_back_from_any_device() {
    let server = TestServer::new();
    let mut verifier = server.device("changxing-v1").await;
    let id = verifier.create_case(&sample_case(
        CaseId::new_random(),
        "changxing",
        "周八",
        ID,
        0,
    ));
    verifier.sync(&server).await;
    let mut supervisor = server.device("changxing-sup").await;
    supervisor.sync(&server).await;

    // The supervisor's first message after an edit carries everything it holds: the
    // verifier's change (the server has it) and its own new one.
    supervisor.edit_case(id, |c| c.applicant.address = "长兴路3号".into());
    let relayed = supervisor.docs[&id].clone();
    assert_eq!(relayed.get_changes(&[]).len(), 2);
    let reply = server
        .sync_one(supervisor.token(), id, push_all(&relayed))
        .await;
    assert!(matches!(reply, DocReply::Message(_)), "{reply:?}");
    let copy = server_copy(&server, id).await;
    assert_eq!(copy.get_heads(), relayed.get_heads());
    assert_eq!(read_case(&copy).unwrap().applicant.address, "长兴路3号");

    // Only known changes, none new: accepted, nothing written.
    let seq = change_seq(&server, supervisor.token()).await;
    let reply = server
        .sync_one(supervisor.token(), id, push_all(&relayed))
        .await;
    assert!(matches!(reply, DocReply::Message(_)), "{reply:?}");
    assert_eq!(change_seq(&server, supervisor.token()).await, seq);
}

#[tokio::test]
async fn an_actor_id_of_another_users_device_cannot_be_registered() {
    let server = TestServer::new();
    server.login("goukou-v1").await;
    // The same user again: fine (a new login on the same installation).
    server.login("goukou-v1").await;

    let taken = hex::encode(actor_for("goukou-v1").to_bytes());
    let (status, answer) = server
        .login_with_actor("goukou-sup", PASSWORD, &taken)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let error = error_of(&answer);
    assert_eq!(error.error, "actor_in_use");
    assert!(error.message.contains("其他账号"), "{}", error.message);
    // Nothing enrolled for the refused login.
    let devices = server.state.list_devices().unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().all(|d| d.username == "goukou-v1"));

    // A revoked device's actor stays its user's.
    for device in &devices {
        server.state.revoke_device(device.device_id).unwrap();
    }
    let (status, _) = server
        .login_with_actor("goukou-sup", PASSWORD, &taken.to_uppercase())
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_actor_id_must_be_32_hex_digits() {
    let server = TestServer::new();
    for actor in [
        "",
        "00ff",
        &"0".repeat(31),
        &"0".repeat(34),
        &"x".repeat(32),
    ] {
        let (status, answer) = server.login_with_actor("jinlin-v1", PASSWORD, actor).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{actor:?}");
        assert!(error_of(&answer).message.contains("32位十六进制"));
    }
    assert!(server.state.list_devices().unwrap().is_empty());
    // What the app core sends: 16 random bytes as lower-case hex.
    let app_actor = ActorId::random().to_hex_string();
    let (status, _) = server
        .login_with_actor("jinlin-v1", PASSWORD, &app_actor)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.state.list_devices().unwrap()[0].actor_id, app_actor);
}
