//! Proof that a sync with nothing to do costs the same whatever the number of cases: the
//! response has the same size and SQLite executes the same number of VM steps
//! (counted with a progress handler on every connection) at 10 cases and at 2,000.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use automerge::sync::{Have, State, SyncDoc};
use automerge::{ActorId, Automerge, ChangeHash};
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use hecha_shared::api::LoginResponse;
use hecha_shared::case::{create_document, read_case, write_case, CaseDoc, ChangeNote};
use hecha_shared::sync::{Cursor, DocMessage, SyncRequest, SyncResponse, CONTENT_TYPE};
use hecha_shared::{CaseId, UnitId};
use tower::ServiceExt;

use crate::auth::Caller;
use crate::db::ConnectionRole;
use crate::{app, AppState, ServerConfig};

const PASSWORD: &str = "noop-test";

struct Store {
    _dir: tempfile::TempDir,
    state: AppState,
    verifier: LoginResponse,
    bureau: LoginResponse,
}

fn note() -> ChangeNote {
    ChangeNote {
        action: "save".into(),
        author: "测试员".into(),
        device: "test".into(),
    }
}

/// The actor a test device of `username` writes with (one per user).
fn actor_of(username: &str) -> ActorId {
    let mut bytes = [0u8; 16];
    for (i, b) in username.bytes().enumerate() {
        bytes[i % 16] ^= b;
    }
    ActorId::from(bytes)
}

async fn login(state: &AppState, username: &str) -> LoginResponse {
    let body = serde_json::json!({
        "username": username, "password": PASSWORD,
        "device_name": "test", "actor_id": actor_of(username).to_hex_string(),
    });
    let response = app(state.clone())
        .oneshot(
            Request::post("/api/v1/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The message a device sends for changes made since the server last held `since`.
fn message_since(doc: &Automerge, since: Vec<ChangeHash>) -> Vec<u8> {
    let mut state = State::new();
    state.shared_heads = since.clone();
    state.their_heads = Some(since.clone());
    state.their_need = Some(Vec::new());
    state.their_have = Some(vec![Have {
        last_sync: since,
        bloom: Default::default(),
    }]);
    doc.generate_sync_message(&mut state).unwrap().encode()
}

/// A district whose unit `chaoyang` holds `cases` cases, each written `writes` times.
async fn store(cases: usize, writes: usize) -> Store {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(ServerConfig::new(dir.path())).unwrap();
    crate::demo::seed_demo(&state, PASSWORD).unwrap();
    let verifier = login(&state, "chaoyang-v1").await;
    let bureau = login(&state, "bureau-staff").await;
    let caller = Caller {
        device_id: verifier.device_id,
        actor: actor_of("chaoyang-v1"),
        user: verifier.user.clone(),
    };
    let unit = UnitId::new("chaoyang").unwrap();
    let mut docs: Vec<(CaseId, Automerge, Vec<ChangeHash>)> = (0..cases)
        .map(|n| {
            let id = CaseId::new_random();
            let mut case = CaseDoc::new_case(id, &unit, 0);
            case.applicant.name = format!("住户{n}");
            let doc = create_document(caller.actor.clone(), &case, &note(), 0).unwrap();
            (id, doc, Vec::new())
        })
        .collect();
    for write in 0..writes {
        for batch in docs.chunks_mut(200) {
            let mut messages = Vec::new();
            for (id, doc, server_heads) in batch.iter_mut() {
                if write > 0 {
                    let mut case = read_case(doc).unwrap();
                    case.applicant.phone = format!("139{write:08}");
                    write_case(doc, &case, &note(), 0).unwrap();
                }
                messages.push(DocMessage {
                    case_id: *id,
                    message: message_since(doc, std::mem::take(server_heads)),
                });
                *server_heads = doc.get_heads();
            }
            let request = SyncRequest::new(Cursor(0), messages);
            let response = crate::sync::run(&state, &caller, request).unwrap();
            assert!(response
                .docs
                .iter()
                .all(|r| matches!(r, hecha_shared::sync::DocReply::Message(_))));
        }
    }
    Store {
        _dir: dir,
        state,
        verifier,
        bureau,
    }
}

/// Sends a sync request through the router; returns the response body and the SQLite VM
/// steps it took on the writer and on the readers.
async fn measured_sync(state: &AppState, token: &str, cursor: Cursor) -> (Vec<u8>, u64, u64) {
    let send = || async {
        let response = app(state.clone())
            .oneshot(
                Request::post("/api/v1/sync")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, CONTENT_TYPE)
                    .body(Body::from(SyncRequest::new(cursor, vec![]).encode()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    };
    // Warm up: statements prepared and the schema read once, as on a running server.
    send().await;
    let writer = Arc::new(AtomicU64::new(0));
    let readers = Arc::new(AtomicU64::new(0));
    let mut instrumented_readers = 0;
    state.db().for_each_connection(|role, conn| {
        let counter = match role {
            ConnectionRole::Writer => writer.clone(),
            ConnectionRole::Reader => {
                instrumented_readers += 1;
                readers.clone()
            }
        };
        conn.progress_handler(
            1,
            Some(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                false
            }),
        );
    });
    assert_eq!(instrumented_readers, 1, "requests run one after another");
    let body = send().await;
    state
        .db()
        .for_each_connection(|_, conn| conn.progress_handler(0, None::<fn() -> bool>));
    (
        body,
        writer.load(Ordering::Relaxed),
        readers.load(Ordering::Relaxed),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_sync_costs_the_same_at_10_and_2000_cases() {
    // 10 cases written 13 times (change sequence 130) and 2000 cases written once (2000):
    // both cursors take two bytes in postcard, so an up-to-date device's request and the
    // answer have the same size at both.
    let small = store(10, 13).await;
    let large = store(2000, 1).await;

    for (small_token, large_token) in [
        (&small.verifier.token, &large.verifier.token),
        (&small.bureau.token, &large.bureau.token),
    ] {
        let (small_body, small_writes, small_reads) =
            measured_sync(&small.state, small_token, Cursor(130)).await;
        let (large_body, large_writes, large_reads) =
            measured_sync(&large.state, large_token, Cursor(2000)).await;

        assert_eq!(
            small_body.len(),
            large_body.len(),
            "the same size at 10 and 2000 cases"
        );
        assert!(large_body.len() < 8, "{} bytes", large_body.len());
        for (body, cursor) in [(&small_body, Cursor(130)), (&large_body, Cursor(2000))] {
            let response = SyncResponse::decode(body).unwrap();
            assert!(response.docs.is_empty() && response.changed.is_empty() && !response.more);
            assert_eq!(response.cursor, cursor);
        }

        assert_eq!(
            (small_writes, large_writes),
            (0, 0),
            "a no-op sync writes nothing"
        );
        assert!(small_reads > 0, "the counter is attached");
        assert_eq!(
            small_reads, large_reads,
            "the same SQLite work at 10 and 2000 cases"
        );
    }

    // The counter does see per-case work: listing every change costs more at 2000.
    let (_, _, small_all) = measured_sync(&small.state, &small.verifier.token, Cursor(0)).await;
    let (_, _, large_all) = measured_sync(&large.state, &large.verifier.token, Cursor(0)).await;
    assert!(large_all > small_all * 10, "{small_all} vs {large_all}");

    changed_lists_page_by_the_cursor(&large).await;
}

/// A device far behind hears of the changes in pages of `MAX_CHANGED_PER_RESPONSE`.
async fn changed_lists_page_by_the_cursor(large: &Store) {
    let (state, token) = (&large.state, &large.verifier.token);
    let sync = |cursor| async move {
        let (body, _, _) = measured_sync(state, token, cursor).await;
        SyncResponse::decode(&body).unwrap()
    };
    let first = sync(Cursor(0)).await;
    assert_eq!(first.changed.len(), 1000);
    assert!(first.more);
    assert_eq!(first.cursor, Cursor(1000));
    let second = sync(first.cursor).await;
    assert_eq!(second.changed.len(), 1000);
    assert!(!second.more);
    assert_eq!(second.cursor, Cursor(2000));
    assert!(first.changed.iter().all(|id| !second.changed.contains(id)));
    let third = sync(second.cursor).await;
    assert!(third.changed.is_empty());
    assert_eq!(third.cursor, Cursor(2000));
}
