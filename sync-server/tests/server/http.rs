//! The server over real HTTP: `serve` on 127.0.0.1 port 0, a reqwest client, and a
//! graceful shutdown.

use std::time::Duration;

use hecha_server::{AppState, ServerConfig};
use hecha_shared::api::{CaseList, ErrorBody, LoginRequest, LoginResponse};
use hecha_shared::case::create_document;
use hecha_shared::sync::{Cursor, DocMessage, DocReply, SyncRequest, SyncResponse, CONTENT_TYPE};
use hecha_shared::CaseId;

use crate::support::{actor_for, note, sample_case, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_logs_in_syncs_and_queries_over_http_then_the_server_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(ServerConfig::new(dir.path())).unwrap();
    let seeded = state.clone();
    tokio::task::spawn_blocking(move || hecha_server::demo::seed_demo(&seeded, PASSWORD))
        .await
        .unwrap()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hecha_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let health: serde_json::Value = client
        .get(format!("{base}/api/v1/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    let bad = client
        .post(format!("{base}/api/v1/login"))
        .json(&LoginRequest {
            username: "jinlin-v1".into(),
            password: "wrong".into(),
            device_name: "平板".into(),
            actor_id: "00ff".repeat(8),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.json::<ErrorBody>().await.unwrap().error,
        "bad_credentials"
    );

    let actor = actor_for("jinlin-v1");
    let login: LoginResponse = client
        .post(format!("{base}/api/v1/login"))
        .json(&LoginRequest {
            username: "jinlin-v1".into(),
            password: PASSWORD.into(),
            device_name: "平板".into(),
            actor_id: hex::encode(actor.to_bytes()),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let id = CaseId::new_random();
    let doc = create_document(
        actor,
        &sample_case(id, "jinlin", "钱九", "11010519491231002X", 0),
        &note("create"),
        1,
    )
    .unwrap();
    let mut state = automerge::sync::State::new();
    let mut scratch = doc.clone();
    let nothing = automerge::sync::SyncDoc::generate_sync_message(
        &automerge::Automerge::new(),
        &mut automerge::sync::State::new(),
    )
    .unwrap();
    automerge::sync::SyncDoc::receive_sync_message(&mut scratch, &mut state, nothing).unwrap();
    let message = automerge::sync::SyncDoc::generate_sync_message(&scratch, &mut state).unwrap();
    let request = SyncRequest::new(
        Cursor(0),
        vec![DocMessage {
            case_id: id,
            message: message.encode(),
        }],
    );
    let answer = client
        .post(format!("{base}/api/v1/sync"))
        .bearer_auth(&login.token)
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(request.encode())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    assert_eq!(
        answer.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap(),
        CONTENT_TYPE
    );
    let response = SyncResponse::decode(&answer.bytes().await.unwrap()).unwrap();
    assert!(matches!(&response.docs[0], DocReply::Message(m) if m.case_id == id));
    assert_eq!(response.changed, vec![id]);

    let list: CaseList = client
        .get(format!("{base}/api/v1/cases?name=%E9%92%B1"))
        .bearer_auth(&login.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.total, 1);
    assert_eq!(list.cases[0].id_masked, "110105********002X");

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops after the shutdown signal")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(
        client
            .get(format!("{base}/api/v1/health"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_err(),
        "nothing listens after shutdown"
    );
}
