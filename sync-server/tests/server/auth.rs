//! Login, tokens and revocation.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use hecha_shared::api::{Role, UserInfo};
use hecha_shared::sync::{Cursor, SyncRequest};

use crate::support::{error_of, TestServer, PASSWORD};

#[tokio::test]
async fn a_demo_user_logs_in_and_the_token_names_them() {
    let server = TestServer::new();
    let login = server.login("chaoyang-v1").await;
    assert_eq!(login.user.username, "chaoyang-v1");
    assert_eq!(login.user.role, Role::Verifier);
    assert_eq!(login.user.unit.as_str(), "chaoyang");
    assert_eq!(login.user.unit_name, "朝阳街道");
    assert_eq!(login.token.len(), 43);
    assert_eq!(login.device_id.0.get_version_num(), 4);

    let me: UserInfo = server.get_json(&login.token, "/api/v1/me").await;
    assert_eq!(me, login.user);

    let devices = server.state.list_devices().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].device_id, login.device_id);
    assert_eq!(devices[0].device_name, "chaoyang-v1 的手机");
    assert_eq!(devices[0].username, "chaoyang-v1");
    assert_eq!(devices[0].revoked_at_ms, None);
    assert_eq!(devices[0].actor_id.len(), 32);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let server = TestServer::new();
    let wrong_password = server.login_raw("chaoyang-v1", "guess").await;
    let unknown_user = server.login_raw("nobody", PASSWORD).await;
    assert_eq!(wrong_password.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password, unknown_user);
    let body = error_of(&wrong_password.1);
    assert_eq!(body.error, "bad_credentials");
    assert_eq!(body.message, "用户名或密码错误");
    assert!(server.state.list_devices().unwrap().is_empty());
}

#[tokio::test]
async fn every_login_enrols_a_new_device_with_its_own_token() {
    let server = TestServer::new();
    let first = server.login("xinghai-v1").await;
    let second = server.login("xinghai-v1").await;
    assert_ne!(first.token, second.token);
    assert_ne!(first.device_id, second.device_id);
    assert_eq!(server.state.list_devices().unwrap().len(), 2);
    // The token itself is not stored anywhere in the database file.
    let db = std::fs::read(server.dir.path().join("data").join(hecha_server::DB_FILE)).unwrap();
    let wal = std::fs::read(
        server
            .dir
            .path()
            .join("data")
            .join(format!("{}-wal", hecha_server::DB_FILE)),
    )
    .unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!bytes
            .windows(first.token.len())
            .any(|w| w == first.token.as_bytes()));
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthorized() {
    let server = TestServer::new();
    let (status, body) = server
        .send(Request::get("/api/v1/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).error, "unauthorized");

    let unknown = "A".repeat(43);
    for token in ["garbage", unknown.as_str()] {
        let (status, body) = server.get(token, "/api/v1/cases").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(error_of(&body).error, "unauthorized");
    }
    let (status, body) = server
        .send(
            Request::get("/api/v1/me")
                .header(header::AUTHORIZATION, "Basic Y2hhb3lhbmc6eA==")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).error, "unauthorized");
}

#[tokio::test]
async fn a_revoked_device_is_refused_while_the_users_other_devices_go_on() {
    let server = TestServer::new();
    let lost_phone = server.login("renminlu-v2").await;
    let tablet = server.login("renminlu-v2").await;
    assert!(server.state.revoke_device(lost_phone.device_id).unwrap());
    assert!(!server.state.revoke_device(lost_phone.device_id).unwrap());

    let (status, body) = server.get(&lost_phone.token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&body).error, "device_revoked");
    let (status, body) = server
        .sync_raw(
            &lost_phone.token,
            SyncRequest::new(Cursor(0), vec![]).encode(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&body).error, "device_revoked");
    let (status, _) = server.get(&lost_phone.token, "/api/v1/cases").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let me: UserInfo = server.get_json(&tablet.token, "/api/v1/me").await;
    assert_eq!(me.username, "renminlu-v2");
    let devices = server.state.list_devices().unwrap();
    let revoked = devices
        .iter()
        .find(|d| d.device_id == lost_phone.device_id)
        .unwrap();
    assert_eq!(revoked.revoked_at_ms, Some(server.now()));
}

#[tokio::test]
async fn a_login_with_a_bad_body_or_actor_id_is_a_bad_request() {
    let server = TestServer::new();
    let post = |body: &'static str| {
        Request::post("/api/v1/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let (status, body) = server.send(post("{\"username\":")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).error, "bad_request");
    let (status, body) = server
        .send(post(
            r#"{"username":"chaoyang-v1","password":"x","device_name":"d","actor_id":"not hex"}"#,
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).error, "bad_request");

    let huge = format!(
        r#"{{"username":"chaoyang-v1","password":"{}","device_name":"d","actor_id":"00"}}"#,
        "x".repeat(100 * 1024)
    );
    let (status, body) = server
        .send(
            Request::post("/api/v1/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(&body).error, "payload_too_large");
}

#[tokio::test]
async fn health_answers_and_unknown_routes_are_json_404s() {
    let server = TestServer::new();
    let (status, body) = server
        .send(Request::get("/api/v1/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"status": "ok", "db": "ok"})
    );
    let (status, body) = server
        .send(Request::get("/api/v1/nothing").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body).error, "not_found");
}
