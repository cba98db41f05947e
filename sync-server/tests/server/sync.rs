//! `POST /api/v1/sync`: pushing, pulling and merging real case documents, scope, and
//! every way a request can be refused without anything being written.

use automerge::sync::{Message, State, SyncDoc};
use automerge::Automerge;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use hecha_server::ServerConfig;
use hecha_shared::case::create_document;
use hecha_shared::sync::{
    Cursor, DocMessage, DocReply, SyncRequest, SyncResponse, MAX_DOCS_PER_REQUEST, PROTOCOL_VERSION,
};
use hecha_shared::CaseId;

use crate::support::{actor_for, error_of, note, sample_case, TestServer};

const ID: &str = "11010519491231002X";

#[tokio::test]
async fn a_new_case_is_pushed_in_one_round_and_enters_the_ledger_masked() {
    let server = TestServer::new();
    let mut phone = server.device("chaoyang-v1").await;
    let id = phone.create_case(&sample_case(
        CaseId::new_random(),
        "chaoyang",
        "王秀兰",
        ID,
        2,
    ));
    let report = phone.sync(&server).await;
    assert!(report.rounds <= 2, "{report:?}");
    assert!(report.unavailable.is_empty() && report.rejected.is_empty());
    assert!(report.changed.contains(&id));
    assert_eq!(phone.cursor, Cursor(1));
    assert!(phone.dirty.is_empty());

    let list = server.cases(phone.token(), "").await;
    assert_eq!(list.total, 1);
    let row = &list.cases[0];
    assert_eq!(row.case_id, id);
    assert_eq!(row.applicant_name, "王秀兰");
    assert_eq!(row.id_masked, "110105********002X");
    assert!(!row.id_masked.contains("19491231"));
    assert_eq!(row.member_count, 3);
    assert_eq!(row.unit.as_str(), "chaoyang");
    assert_eq!(row.unit_name, "朝阳街道");
    assert_eq!(row.status, "applied");
    assert_eq!(row.updated_at_ms, server.now());

    // A second run has nothing to push and hears of nothing new.
    let again = phone.sync(&server).await;
    assert_eq!(again.rounds, 1);
    assert!(again.changed.is_empty());
    assert_eq!(phone.cursor, Cursor(1));
}

#[tokio::test]
async fn the_server_places_a_new_case_in_the_senders_unit_not_the_documents() {
    let server = TestServer::new();
    let mut phone = server.device("qingshan-v1").await;
    // The document claims another unit; the envelope (who sent it) decides.
    let id = phone.create_case(&sample_case(
        CaseId::new_random(),
        "chaoyang",
        "赵六",
        "",
        0,
    ));
    phone.sync(&server).await;
    let list = server.cases(phone.token(), "").await;
    assert_eq!(list.cases[0].case_id, id);
    assert_eq!(list.cases[0].unit.as_str(), "qingshan");
    let chaoyang = server.device("chaoyang-v1").await;
    assert_eq!(server.cases(chaoyang.token(), "").await.total, 0);
}

#[tokio::test]
async fn a_case_is_invisible_and_untouchable_outside_its_unit() {
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

    // A device of another unit hears of nothing and cannot fetch the case by its id.
    let mut other = server.device("xinghai-v1").await;
    let nothing = other.sync(&server).await;
    assert!(nothing.changed.is_empty());
    let fetch = Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode();
    let response = server
        .sync(
            other.token(),
            &SyncRequest::new(
                Cursor(0),
                vec![DocMessage {
                    case_id: id,
                    message: fetch.clone(),
                }],
            ),
        )
        .await;
    assert_eq!(response.docs, vec![DocReply::Unavailable { case_id: id }]);
    assert!(response.changed.is_empty());

    // Nor overwrite it with a document of its own under the same id.
    other.create_case(&sample_case(id, "xinghai", "冒名", ID, 0));
    let report = other.sync(&server).await;
    assert!(report.unavailable.contains(&id));
    assert!(!other.docs.is_empty(), "the device keeps its own copy");
    let theirs = server.cases(other.token(), "").await;
    assert_eq!(theirs.total, 0);
    let ours = server.cases(owner.token(), "").await;
    assert_eq!(ours.cases[0].applicant_name, "王秀兰");

    // Its supervisor and the bureau do see it; IT sees no case content.
    let mut supervisor = server.device("chaoyang-sup").await;
    assert!(supervisor.sync(&server).await.changed.contains(&id));
    assert_eq!(supervisor.case(id).applicant.name, "王秀兰");
    let mut bureau = server.device("bureau-staff").await;
    assert!(bureau.sync(&server).await.changed.contains(&id));
    assert_eq!(server.cases(bureau.token(), "").await.total, 1);
    let xinghai_sup = server.device("xinghai-sup").await;
    assert_eq!(server.cases(xinghai_sup.token(), "").await.total, 0);

    let admin = server.device("it-admin").await;
    let response = server
        .sync(
            admin.token(),
            &SyncRequest::new(
                Cursor(0),
                vec![DocMessage {
                    case_id: id,
                    message: fetch.clone(),
                }],
            ),
        )
        .await;
    assert_eq!(response.docs, vec![DocReply::Unavailable { case_id: id }]);
    assert!(response.changed.is_empty());
    let (status, body) = server.get(admin.token(), "/api/v1/cases").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&body).error, "forbidden");
}

#[tokio::test]
async fn an_unknown_case_asked_for_without_changes_is_unavailable() {
    let server = TestServer::new();
    let phone = server.device("chaoyang-v1").await;
    let id = CaseId::new_random();
    let ask = Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap();
    let response = server
        .sync(
            phone.token(),
            &SyncRequest::new(
                Cursor(0),
                vec![DocMessage {
                    case_id: id,
                    message: ask.encode(),
                }],
            ),
        )
        .await;
    assert_eq!(response.docs, vec![DocReply::Unavailable { case_id: id }]);
    assert_eq!(response.cursor, Cursor(0));
}

#[tokio::test]
async fn concurrent_edits_from_two_devices_merge_on_both() {
    let server = TestServer::new();
    let mut verifier = server.device("changcheng-v1").await;
    let id = verifier.create_case(&sample_case(
        CaseId::new_random(),
        "changcheng",
        "孙七",
        ID,
        0,
    ));
    verifier.sync(&server).await;
    let mut supervisor = server.device("changcheng-sup").await;
    supervisor.sync(&server).await;
    assert_eq!(supervisor.case(id).applicant.name, "孙七");

    verifier.edit_case(id, |c| c.applicant.address = "长城路1号".into());
    supervisor.edit_case(id, |c| c.applicant.phone = "13900000000".into());
    let pushed = verifier.sync(&server).await;
    assert!(pushed.rounds <= 2, "{pushed:?}");
    server.advance(60_000);
    supervisor.sync(&server).await;
    verifier.sync(&server).await;

    for device in [&verifier, &supervisor] {
        let case = device.case(id);
        assert_eq!(case.applicant.address, "长城路1号");
        assert_eq!(case.applicant.phone, "13900000000");
    }
    assert_eq!(
        verifier.docs[&id].get_heads(),
        supervisor.docs[&id].get_heads()
    );
    let list = server.cases(verifier.token(), "").await;
    assert_eq!(list.cases[0].updated_at_ms, server.now());

    // Adding a member shows in the ledger's member count.
    verifier.edit_case(id, |c| {
        c.members.insert(
            "m9".into(),
            hecha_shared::case::Member {
                name: "孙小七".into(),
                relation: "child".into(),
                id_number: String::new(),
                added_at: 9,
                removed: false,
                ..Default::default()
            },
        );
    });
    verifier.sync(&server).await;
    assert_eq!(
        server.cases(verifier.token(), "").await.cases[0].member_count,
        2
    );
}

/// Server-wide state a refused request must leave as it was.
async fn nothing_written(server: &TestServer, token: &str) {
    assert_eq!(server.cases(token, "").await.total, 0);
    let response = server
        .sync(token, &SyncRequest::new(Cursor(0), vec![]))
        .await;
    assert_eq!(response.cursor, Cursor(0), "the change sequence moved");
}

/// A request pushing a whole new case written by chaoyang-v1's actor.
fn push_request(id: CaseId, unit: &str) -> SyncRequest {
    let doc = create_document(
        actor_for("chaoyang-v1"),
        &sample_case(id, unit, "周八", ID, 1),
        &note("create"),
        1,
    )
    .unwrap();
    let mut scratch = doc.clone();
    let mut state = State::new();
    let nothing = Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap();
    scratch.receive_sync_message(&mut state, nothing).unwrap();
    let message = scratch.generate_sync_message(&mut state).unwrap();
    assert!(!message.changes.is_empty());
    SyncRequest::new(
        Cursor(0),
        vec![DocMessage {
            case_id: id,
            message: message.encode(),
        }],
    )
}

#[tokio::test]
async fn truncated_or_random_bodies_are_refused_and_nothing_is_written() {
    let server = TestServer::new();
    let phone = server.device("chaoyang-v1").await;
    let full = push_request(CaseId::new_random(), "chaoyang").encode();
    let mut bodies: Vec<Vec<u8>> = [1, 2, full.len() / 2, full.len() - 1]
        .into_iter()
        .map(|cut| full[..cut].to_vec())
        .collect();
    bodies.push(vec![]);
    let mut noise = full.clone();
    noise.extend_from_slice(&[0xff; 3]);
    bodies.push(noise);
    bodies.push(
        (0..2048u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    );
    for body in bodies {
        let (status, answer) = server.sync_raw(phone.token(), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{} bytes", body.len());
        let error = error_of(&answer).error;
        assert!(
            error == "malformed_sync" || error == "unsupported_protocol",
            "{error}"
        );
    }
    nothing_written(&server, phone.token()).await;
}

#[tokio::test]
async fn another_protocol_version_too_many_docs_or_a_wrong_content_type_are_refused() {
    let server = TestServer::new();
    let phone = server.device("chaoyang-v1").await;

    let mut old = push_request(CaseId::new_random(), "chaoyang");
    old.protocol = PROTOCOL_VERSION + 1;
    let (status, body) = server.sync_raw(phone.token(), old.encode()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).error, "unsupported_protocol");

    let one = push_request(CaseId::new_random(), "chaoyang")
        .docs
        .remove(0);
    let many = SyncRequest::new(Cursor(0), vec![one; MAX_DOCS_PER_REQUEST + 1]);
    let (status, body) = server.sync_raw(phone.token(), many.encode()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).error, "too_many_docs");

    let (status, body) = server
        .send(
            Request::post("/api/v1/sync")
                .header(header::AUTHORIZATION, format!("Bearer {}", phone.token()))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    push_request(CaseId::new_random(), "chaoyang").encode(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_of(&body).error, "unsupported_media_type");
    nothing_written(&server, phone.token()).await;
}

#[tokio::test]
async fn a_broken_document_message_is_rejected_alone() {
    let server = TestServer::new();
    let phone = server.device("chaoyang-v1").await;
    let broken_id = CaseId::new_random();
    let good_id = CaseId::new_random();
    let good = push_request(good_id, "chaoyang").docs.remove(0);
    let mut cut = good.message.clone();
    cut.truncate(cut.len() / 2);
    let request = SyncRequest::new(
        Cursor(0),
        vec![
            DocMessage {
                case_id: broken_id,
                message: b"not an automerge message".to_vec(),
            },
            DocMessage {
                case_id: broken_id,
                message: cut,
            },
            good,
        ],
    );
    let response = server.sync(phone.token(), &request).await;
    assert!(
        matches!(&response.docs[0], DocReply::Rejected { case_id, .. } if *case_id == broken_id)
    );
    assert!(
        matches!(&response.docs[1], DocReply::Rejected { case_id, .. } if *case_id == broken_id)
    );
    assert!(matches!(&response.docs[2], DocReply::Message(m) if m.case_id == good_id));
    assert_eq!(response.changed, vec![good_id]);
    let list = server.cases(phone.token(), "").await;
    assert_eq!(list.total, 1);
    assert_eq!(list.cases[0].case_id, good_id);
}

#[tokio::test]
async fn a_document_of_another_case_id_is_rejected() {
    let server = TestServer::new();
    let phone = server.device("chaoyang-v1").await;
    let mut request = push_request(CaseId::new_random(), "chaoyang");
    let claimed = CaseId::new_random();
    request.docs[0].case_id = claimed;
    let response = server.sync(phone.token(), &request).await;
    assert!(matches!(&response.docs[0], DocReply::Rejected { case_id, .. } if *case_id == claimed));
    nothing_written(&server, phone.token()).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_a_clear_message() {
    let server = TestServer::new();
    let phone = server.device("chaoyang-v1").await;
    let body = vec![0u8; ServerConfig::DEFAULT_MAX_SYNC_BODY_BYTES + 1];
    let (status, answer) = server.sync_raw(phone.token(), body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let error = error_of(&answer);
    assert_eq!(error.error, "payload_too_large");
    assert!(error.message.contains("过大"), "{}", error.message);
    nothing_written(&server, phone.token()).await;

    // The limit is the configured one.
    let small = TestServer::with_config(|mut c| {
        c.max_sync_body_bytes = 1024;
        c
    });
    let phone = small.device("chaoyang-v1").await;
    let (status, _) = small.sync_raw(phone.token(), vec![0u8; 1025]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let fits = SyncRequest::new(Cursor(0), vec![]).encode();
    let (status, body) = small.sync_raw(phone.token(), fits).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(SyncResponse::decode(&body).unwrap().docs, vec![]);
}

#[tokio::test]
async fn replies_are_automerge_messages_the_device_can_apply() {
    let server = TestServer::new();
    let phone = server.device("chaoyang-v1").await;
    let id = CaseId::new_random();
    let response = server
        .sync(phone.token(), &push_request(id, "chaoyang"))
        .await;
    let DocReply::Message(reply) = &response.docs[0] else {
        panic!("{response:?}");
    };
    let message = Message::decode(&reply.message).unwrap();
    assert_eq!(message.heads.len(), 1, "the server holds the pushed change");
}
