//! Test support: a seeded server in a temp dir, JSON and sync calls through the router,
//! and a device that holds Automerge case documents and syncs them the way the app does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, Automerge};
use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use hecha_server::{AppState, Clock, ServerConfig};
use hecha_shared::api::{CaseList, ErrorBody, LoginRequest, LoginResponse};
use hecha_shared::case::{
    create_document, is_empty, read_case, write_case, CaseDoc, ChangeNote, Member,
};
use hecha_shared::sync::{Cursor, DocMessage, DocReply, SyncRequest, SyncResponse, CONTENT_TYPE};
use hecha_shared::{CaseId, UnitId};
use serde::de::DeserializeOwned;
use tempfile::TempDir;
use tower::ServiceExt;

pub const PASSWORD: &str = "demo-口令-1";

/// A clock the test moves by hand.
pub struct TestClock(pub AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct TestServer {
    pub dir: TempDir,
    pub state: AppState,
    pub app: Router,
    pub clock: Arc<TestClock>,
}

impl TestServer {
    /// A server with the demo district seeded (password [`PASSWORD`]).
    pub fn new() -> Self {
        Self::with_config(|c| c)
    }

    pub fn with_config(adjust: impl FnOnce(ServerConfig) -> ServerConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(TestClock(AtomicI64::new(1_700_000_000_000)));
        let config = adjust(ServerConfig::new(dir.path().join("data")).with_clock(clock.clone()));
        let state = AppState::open(config).unwrap();
        hecha_server::demo::seed_demo(&state, PASSWORD).unwrap();
        let app = hecha_server::app(state.clone());
        TestServer {
            dir,
            state,
            app,
            clock,
        }
    }

    pub fn advance(&self, ms: i64) {
        self.clock.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, body.to_vec())
    }

    pub async fn login_raw(&self, username: &str, password: &str) -> (StatusCode, Vec<u8>) {
        self.login_with_actor(
            username,
            password,
            &hex::encode(actor_for(username).to_bytes()),
        )
        .await
    }

    pub async fn login_with_actor(
        &self,
        username: &str,
        password: &str,
        actor_id: &str,
    ) -> (StatusCode, Vec<u8>) {
        let body = serde_json::to_vec(&LoginRequest {
            username: username.into(),
            password: password.into(),
            device_name: format!("{username} 的手机"),
            actor_id: actor_id.into(),
        })
        .unwrap();
        self.send(
            Request::post("/api/v1/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    pub async fn login(&self, username: &str) -> LoginResponse {
        let (status, body) = self.login_raw(username, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    pub async fn get(&self, token: &str, uri: &str) -> (StatusCode, Vec<u8>) {
        self.send(
            Request::builder()
                .method(Method::GET)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// A GET with its response headers.
    pub async fn get_with_headers(
        &self,
        token: &str,
        uri: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, headers, body.to_vec())
    }

    pub async fn get_json<T: DeserializeOwned>(&self, token: &str, uri: &str) -> T {
        let (status, body) = self.get(token, uri).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    pub async fn cases(&self, token: &str, query: &str) -> CaseList {
        self.get_json(token, &format!("/api/v1/cases{query}")).await
    }

    pub async fn sync_raw(&self, token: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        self.send(
            Request::post("/api/v1/sync")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, CONTENT_TYPE)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    pub async fn sync(&self, token: &str, request: &SyncRequest) -> SyncResponse {
        let (status, body) = self.sync_raw(token, request.encode()).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        SyncResponse::decode(&body).unwrap()
    }

    /// A logged-in device of `username`.
    pub async fn device(&self, username: &str) -> TestDevice {
        let login = self.login(username).await;
        TestDevice {
            actor: actor_for(username),
            login,
            docs: BTreeMap::new(),
            never_synced: BTreeSet::new(),
            dirty: BTreeSet::new(),
            cursor: Cursor(0),
        }
    }
}

/// The message a device sends for a document as if the server had nothing of it: every
/// change of `doc`.
pub fn push_all(doc: &Automerge) -> Vec<u8> {
    let mut state = State::new();
    let nothing = Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap();
    let mut scratch = doc.clone();
    scratch.receive_sync_message(&mut state, nothing).unwrap();
    scratch.generate_sync_message(&mut state).unwrap().encode()
}

impl TestServer {
    /// Sends one document's message alone and returns the server's reply to it.
    pub async fn sync_one(&self, token: &str, case_id: CaseId, message: Vec<u8>) -> DocReply {
        let response = self
            .sync(
                token,
                &SyncRequest::new(Cursor(0), vec![DocMessage { case_id, message }]),
            )
            .await;
        assert_eq!(response.docs.len(), 1);
        response.docs.into_iter().next().unwrap()
    }
}

/// The error body of a failed call.
pub fn error_of(body: &[u8]) -> ErrorBody {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not an error body: {}", String::from_utf8_lossy(body)))
}

pub fn actor_for(username: &str) -> ActorId {
    let mut bytes = [0u8; 16];
    for (i, b) in username.bytes().enumerate() {
        bytes[i % 16] ^= b;
    }
    bytes[15] ^= 0x5a;
    ActorId::from(bytes.to_vec())
}

pub fn sample_case(id: CaseId, unit: &str, name: &str, id_number: &str, members: usize) -> CaseDoc {
    let mut case = CaseDoc::new_case(id, &UnitId::new(unit).unwrap(), 1_700_000_000_000);
    case.applicant.name = name.into();
    case.applicant.id_number = id_number.into();
    for n in 0..members {
        case.members.insert(
            format!("m{n}"),
            Member {
                name: format!("成员{n}"),
                relation: "child".into(),
                id_number: String::new(),
                added_at: n as i64,
                removed: false,
                ..Default::default()
            },
        );
    }
    case
}

pub fn note(action: &str) -> ChangeNote {
    ChangeNote {
        action: action.into(),
        author: "测试员".into(),
        device: "test".into(),
    }
}

/// What one sync run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub rounds: usize,
    pub unavailable: BTreeSet<CaseId>,
    pub rejected: BTreeMap<CaseId, String>,
    pub changed: BTreeSet<CaseId>,
}

/// A device holding case documents: syncs like the app (a fresh sync state per run; the
/// first message of a case never synced carries all of it).
pub struct TestDevice {
    pub login: LoginResponse,
    pub actor: ActorId,
    pub docs: BTreeMap<CaseId, Automerge>,
    pub never_synced: BTreeSet<CaseId>,
    pub dirty: BTreeSet<CaseId>,
    pub cursor: Cursor,
}

impl TestDevice {
    pub fn token(&self) -> &str {
        &self.login.token
    }

    pub fn create_case(&mut self, case: &CaseDoc) -> CaseId {
        let id: CaseId = case.case_id.parse().unwrap();
        let doc = create_document(self.actor.clone(), case, &note("create"), 1).unwrap();
        self.docs.insert(id, doc);
        self.never_synced.insert(id);
        self.dirty.insert(id);
        id
    }

    pub fn edit_case(&mut self, id: CaseId, edit: impl FnOnce(&mut CaseDoc)) {
        let doc = self.docs.get_mut(&id).unwrap();
        let mut case = read_case(doc).unwrap();
        edit(&mut case);
        write_case(doc, &case, &note("save"), 2).unwrap();
        self.dirty.insert(id);
    }

    pub fn case(&self, id: CaseId) -> CaseDoc {
        read_case(&self.docs[&id]).unwrap()
    }

    fn start_state(&self, id: CaseId) -> State {
        let mut state = State::new();
        if self.never_synced.contains(&id) {
            // As if the server had said "I have nothing": the first message carries all.
            let nothing = Automerge::new()
                .generate_sync_message(&mut State::new())
                .unwrap();
            let mut scratch = self.docs[&id].clone();
            scratch.receive_sync_message(&mut state, nothing).unwrap();
        }
        state
    }

    /// Syncs until every document has nothing more to say (at most 10 rounds).
    pub async fn sync(&mut self, server: &TestServer) -> RunReport {
        let mut report = RunReport::default();
        let mut states: BTreeMap<CaseId, State> = BTreeMap::new();
        let mut pending: BTreeSet<CaseId> = self.dirty.clone();
        for round in 0..10 {
            let mut messages = Vec::new();
            for id in &pending {
                if !states.contains_key(id) {
                    let fresh = self.start_state(*id);
                    states.insert(*id, fresh);
                }
                let state = states.get_mut(id).unwrap();
                let actor = self.actor.clone();
                let doc = self
                    .docs
                    .entry(*id)
                    .or_insert_with(|| Automerge::new().with_actor(actor));
                if let Some(message) = doc.generate_sync_message(state) {
                    messages.push(DocMessage {
                        case_id: *id,
                        message: message.encode(),
                    });
                }
            }
            if messages.is_empty() && round > 0 {
                break;
            }
            report.rounds += 1;
            let response = server
                .sync(self.token(), &SyncRequest::new(self.cursor, messages))
                .await;
            for reply in response.docs {
                match reply {
                    DocReply::Message(m) => {
                        let message = Message::decode(&m.message).unwrap();
                        let state = states.get_mut(&m.case_id).unwrap();
                        self.docs
                            .get_mut(&m.case_id)
                            .unwrap()
                            .receive_sync_message(state, message)
                            .unwrap();
                        self.never_synced.remove(&m.case_id);
                    }
                    DocReply::Unavailable { case_id } => {
                        report.unavailable.insert(case_id);
                        pending.remove(&case_id);
                    }
                    DocReply::Rejected { case_id, reason } => {
                        report.rejected.insert(case_id, reason);
                        pending.remove(&case_id);
                    }
                }
            }
            for id in &response.changed {
                report.changed.insert(*id);
                pending.insert(*id);
            }
            self.cursor = response.cursor;
        }
        for id in &pending {
            if !report.unavailable.contains(id) && !report.rejected.contains_key(id) {
                self.dirty.remove(id);
            }
        }
        // A case the server would not give us leaves no empty copy behind.
        self.docs
            .retain(|id, doc| !(report.unavailable.contains(id) && is_empty(doc)));
        report
    }
}
