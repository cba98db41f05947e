//! Malformed input on every endpoint: bad JSON, truncated or random sync bodies,
//! oversized bodies, unknown and malformed ids, bad query parameters, wrong methods. Each
//! gets a 4xx with a JSON error (a stable code and a message), the server keeps answering,
//! and the database is exactly as it was (no partial write).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use hecha_server::DB_FILE;
use hecha_shared::api::ErrorBody;
use hecha_shared::case::create_document;
use hecha_shared::sync::{Cursor, DocMessage, DocReply, SyncRequest, SyncResponse, CONTENT_TYPE};
use hecha_shared::CaseId;

use crate::support::{actor_for, note, push_all, sample_case, TestServer};

/// Every row of every table, in a stable order: equal dumps = nothing written.
fn dump(server: &TestServer) -> String {
    let conn = rusqlite::Connection::open(server.state.config().data_dir.join(DB_FILE)).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            out.push_str(&table);
            for i in 0..columns {
                let v: rusqlite::types::Value = row.get(i).unwrap();
                out.push_str(&format!(" {v:?}"));
            }
            out.push('\n');
        }
    }
    out
}

/// The answer is a refusal a client can read: 4xx, JSON, a code and a message.
fn assert_json_refusal(what: &str, status: StatusCode, body: &[u8]) -> ErrorBody {
    assert!(
        status.is_client_error(),
        "{what}: expected 4xx, got {status}: {}",
        String::from_utf8_lossy(body)
    );
    let error: ErrorBody = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{what}: the {status} body is not an ErrorBody ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    assert!(
        !error.error.is_empty() && !error.message.is_empty(),
        "{what}: {error:?}"
    );
    error
}

async fn send(
    server: &TestServer,
    method: Method,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    server.send(request.body(Body::from(body)).unwrap()).await
}

/// Deterministic pseudo-random bytes (xorshift).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn bad_json_on_every_json_endpoint_is_a_json_400_and_writes_nothing() {
    let server = TestServer::new();
    let bureau = server.login("bureau-staff").await.token;
    let admin = server.login("it-admin").await.token;
    let sup = server.login("chaoyang-sup").await.token;
    let case = CaseId::from_random_bytes([9; 16]);
    let endpoints: Vec<(String, Option<String>)> = vec![
        ("/api/v1/login".into(), None),
        ("/api/v1/enrol".into(), None),
        ("/api/v1/enrol-codes".into(), Some(admin.clone())),
        (format!("/api/v1/cases/{case}/assign"), Some(sup.clone())),
        (
            format!("/api/v1/cases/{case}/transfer"),
            Some(bureau.clone()),
        ),
    ];
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"{\"username\": ".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"username\": 5, \"password\": []}".to_vec(),
        b"{\"user\": {\"nested\": true}, \"unit\": 7}".to_vec(),
        noise(1, 300),
        vec![0xff, 0xfe, 0x00, 0x7b],
    ];
    let before = dump(&server);
    for (uri, token) in &endpoints {
        for body in &bodies {
            let (status, answer) = send(
                &server,
                Method::POST,
                uri,
                token.as_deref(),
                Some("application/json"),
                body.clone(),
            )
            .await;
            let what = format!("POST {uri} {:?}", String::from_utf8_lossy(body));
            let error = assert_json_refusal(&what, status, &answer);
            assert!(
                matches!(
                    status,
                    StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
                ),
                "{what}: {status} {error:?}"
            );
        }
        // Not JSON at all.
        let (status, answer) = send(
            &server,
            Method::POST,
            uri,
            token.as_deref(),
            Some("text/plain"),
            b"username=a".to_vec(),
        )
        .await;
        assert_json_refusal(&format!("POST {uri} as text/plain"), status, &answer);
    }
    assert_eq!(
        dump(&server),
        before,
        "a refused request wrote to the database"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_with_a_json_error() {
    let server = TestServer::with_config(|mut c| {
        c.max_sync_body_bytes = 64 * 1024;
        c
    });
    let token = server.login("chaoyang-v1").await.token;
    let before = dump(&server);

    let huge_json = format!(
        "{{\"username\":\"{}\",\"password\":\"x\",\"device_name\":\"d\",\"actor_id\":\"{}\"}}",
        "a".repeat(200 * 1024),
        "0".repeat(32)
    );
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/v1/login",
        None,
        Some("application/json"),
        huge_json.into_bytes(),
    )
    .await;
    let error = assert_json_refusal("oversized login", status, &body);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error.error, "payload_too_large");

    let (status, body) = send(
        &server,
        Method::POST,
        "/api/v1/sync",
        Some(&token),
        Some(CONTENT_TYPE),
        noise(2, 65 * 1024),
    )
    .await;
    let error = assert_json_refusal("oversized sync", status, &body);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error.error, "payload_too_large");

    let (status, body) = send(
        &server,
        Method::PUT,
        &format!("/api/v1/blobs/{}", "0".repeat(64)),
        Some(&token),
        Some("application/octet-stream"),
        noise(3, 3 * 1024 * 1024),
    )
    .await;
    assert_json_refusal("oversized blob chunk", status, &body);
    assert_eq!(dump(&server), before);
}

#[tokio::test]
async fn truncated_random_and_corrupted_sync_bodies_are_refused_and_write_nothing() {
    let server = TestServer::new();
    let token = server.login("chaoyang-v1").await.token;
    let id = CaseId::from_random_bytes([5; 16]);
    let doc = create_document(
        actor_for("chaoyang-v1"),
        &sample_case(id, "chaoyang", "王秀兰", "110105194912310021", 2),
        &note("create"),
        1,
    )
    .unwrap();
    let message = push_all(&doc);
    let valid = SyncRequest::new(
        Cursor(0),
        vec![DocMessage {
            case_id: id,
            message: message.clone(),
        }],
    )
    .encode();
    let before = dump(&server);

    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [
        0,
        1,
        2,
        3,
        5,
        8,
        13,
        21,
        34,
        valid.len() / 2,
        valid.len() - 1,
    ] {
        bodies.push((format!("truncated to {cut}"), valid[..cut].to_vec()));
    }
    for seed in 10..30 {
        bodies.push((
            format!("random {seed}"),
            noise(seed, 16 + seed as usize * 37),
        ));
    }
    // A protocol version from the future.
    let mut future = valid.clone();
    future[0] = 0x7f;
    bodies.push(("unknown protocol".into(), future));

    for (what, body) in &bodies {
        let (status, answer) = send(
            &server,
            Method::POST,
            "/api/v1/sync",
            Some(&token),
            Some(CONTENT_TYPE),
            body.clone(),
        )
        .await;
        if status == StatusCode::OK {
            // Decodable by chance: then nothing in it may have been accepted.
            let response = SyncResponse::decode(&answer).unwrap();
            assert!(
                response
                    .docs
                    .iter()
                    .all(|d| !matches!(d, DocReply::Message(_))),
                "{what}: {response:?}"
            );
        } else {
            let error = assert_json_refusal(what, status, &answer);
            assert!(
                ["malformed_sync", "unsupported_protocol", "too_many_docs"]
                    .contains(&error.error.as_str()),
                "{what}: {error:?}"
            );
        }
    }

    // A well-formed envelope whose Automerge message is cut or scrambled: that document is
    // rejected, nothing of it stored.
    for (what, broken) in [
        ("cut message", message[..message.len() / 2].to_vec()),
        ("scrambled message", {
            let mut m = message.clone();
            let mid = m.len() / 2;
            for b in &mut m[mid..] {
                *b ^= 0x5a;
            }
            m
        }),
        ("random message", noise(99, 500)),
    ] {
        let request = SyncRequest::new(
            Cursor(0),
            vec![DocMessage {
                case_id: id,
                message: broken,
            }],
        );
        let (status, answer) = send(
            &server,
            Method::POST,
            "/api/v1/sync",
            Some(&token),
            Some(CONTENT_TYPE),
            request.encode(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{what}");
        let response = SyncResponse::decode(&answer).unwrap();
        assert!(
            matches!(response.docs.as_slice(), [DocReply::Rejected { .. }]),
            "{what}: {response:?}"
        );
    }

    // Wrong content type.
    let (status, answer) = send(
        &server,
        Method::POST,
        "/api/v1/sync",
        Some(&token),
        Some("application/json"),
        valid.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_json_refusal("sync as JSON", status, &answer);

    assert_eq!(
        dump(&server),
        before,
        "a refused sync wrote to the database"
    );

    // The server still takes the valid message afterwards.
    let (status, answer) = send(
        &server,
        Method::POST,
        "/api/v1/sync",
        Some(&token),
        Some(CONTENT_TYPE),
        valid,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = SyncResponse::decode(&answer).unwrap();
    assert!(matches!(response.docs.as_slice(), [DocReply::Message(_)]));
    assert_eq!(server.cases(&token, "").await.total, 1);
}

#[tokio::test]
async fn unknown_and_malformed_ids_and_bad_parameters_are_json_refusals() {
    let server = TestServer::new();
    let verifier = server.login("chaoyang-v1").await.token;
    let bureau = server.login("bureau-staff").await.token;
    let unknown = CaseId::from_random_bytes([0x42; 16]);
    let before = dump(&server);
    let cases: Vec<(&str, String, &str, StatusCode)> = vec![
        (
            "v",
            format!("/api/v1/cases/{unknown}/history"),
            "unavailable",
            StatusCode::NOT_FOUND,
        ),
        (
            "v",
            format!("/api/v1/cases/{unknown}/document"),
            "unavailable",
            StatusCode::NOT_FOUND,
        ),
        (
            "v",
            format!("/api/v1/cases/{unknown}/document.automerge"),
            "unavailable",
            StatusCode::NOT_FOUND,
        ),
        (
            "v",
            "/api/v1/cases/not-a-case/history".into(),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            "/api/v1/cases/%FF%FE/document".into(),
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            format!("/api/v1/cases/{unknown}/history?why={}", "很".repeat(201)),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            "/api/v1/cases?limit=abc".into(),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            "/api/v1/cases?offset=-3".into(),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            "/api/v1/cases?no_such_filter=1".into(),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            "/api/v1/export/cases.csv?limit=lots".into(),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "b",
            "/api/v1/audit?since_ms=yesterday".into(),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "b",
            "/api/v1/audit?limit=-1".into(),
            "bad_request",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            "/api/v1/blobs/xyz/status".into(),
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            "v",
            format!("/api/v1/blobs/{}/status", "0".repeat(64)),
            "unavailable",
            StatusCode::NOT_FOUND,
        ),
        (
            "v",
            format!("/api/v1/blobs/{}", "0".repeat(64)),
            "unavailable",
            StatusCode::NOT_FOUND,
        ),
        (
            "v",
            format!("/api/v1/cases/{unknown}/assignments"),
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "v",
            "/api/v1/no/such/route".into(),
            "not_found",
            StatusCode::NOT_FOUND,
        ),
    ];
    for (who, uri, code, want) in cases {
        let token = if who == "b" { &bureau } else { &verifier };
        let (status, body) = server.get(token, &uri).await;
        let error = assert_json_refusal(&uri, status, &body);
        // 403 is also a fair answer for a role-limited route; the status is otherwise exact.
        assert!(
            status == want || status == StatusCode::FORBIDDEN,
            "{uri}: {status} {error:?}"
        );
        if !code.is_empty() && status == want {
            assert_eq!(error.error, code, "{uri}");
        }
    }
    // Bad or missing tokens.
    for token in ["", "x", &"A".repeat(5000)] {
        let (status, body) = server.get(token, "/api/v1/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_json_refusal("bad token", status, &body);
    }
    assert_eq!(dump(&server), before);
}

#[tokio::test]
async fn wrong_methods_are_405_with_a_json_error_and_the_allowed_methods() {
    let server = TestServer::new();
    let before = dump(&server);
    for (method, uri) in [
        (Method::DELETE, "/api/v1/login"),
        (Method::GET, "/api/v1/login"),
        (Method::GET, "/api/v1/sync"),
        (Method::PUT, "/api/v1/cases"),
        (Method::POST, "/api/v1/health"),
        (Method::PATCH, "/api/v1/me"),
        (Method::POST, "/api/v1/standards"),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(server.app.clone(), request)
            .await
            .unwrap();
        let status = response.status();
        let allow = response.headers().get(header::ALLOW).cloned();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let what = format!("{method} {uri}");
        let error = assert_json_refusal(&what, status, &body);
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
        assert_eq!(error.error, "method_not_allowed", "{what}");
        assert!(allow.is_some(), "{what}: no Allow header");
    }
    assert_eq!(dump(&server), before);
}
