//! The sync client's HTTP executor: login and sync requests over reqwest, with timeouts,
//! each failure turned into a typed [`CoreError`] (unreachable, refused, failed).

use std::time::Duration;

use hecha_shared::api::{EnrolRedeemRequest, ErrorBody, LoginRequest, LoginResponse};
use hecha_shared::sync::{SyncRequest, SyncResponse, CONTENT_TYPE};
use reqwest::header::{ACCEPT, CONTENT_TYPE as CONTENT_TYPE_HEADER};
use reqwest::StatusCode;

use crate::error::{CoreError, CoreResult};

/// Giving up on connecting after this long means "offline".
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request (a sync round with up to 200 documents on a slow link).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The one HTTP client of a `Core` (keeps connections alive between rounds).
pub(crate) fn client() -> CoreResult<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("hecha-core/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CoreError::Network(format!("cannot build the HTTP client: {e}")))
}

fn endpoint(base_url: &str, path: &str) -> String {
    format!("{}{path}", base_url.trim_end_matches('/'))
}

fn network(e: reqwest::Error) -> CoreError {
    CoreError::Network(e.to_string())
}

/// The typed error for a non-success answer, read from its `ErrorBody` when it has one.
pub(crate) fn status_error(status: StatusCode, body: &[u8]) -> CoreError {
    let (code, reason) = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| (b.error, b.reason))
        .unwrap_or_default();
    let s = status.as_u16();
    match (s, code.as_str()) {
        (401, "bad_credentials") => CoreError::BadCredentials,
        (401, "bad_enrol_code") => CoreError::BadEnrolCode,
        (401, _) => CoreError::Unauthorized,
        (403, "device_revoked") => CoreError::Revoked(reason),
        (400..=499, _) => CoreError::Refused { status: s, code },
        _ => CoreError::ServerFailed { status: s, code },
    }
}

/// `POST /api/v1/login`.
pub(crate) async fn login(
    client: &reqwest::Client,
    base_url: &str,
    request: &LoginRequest,
) -> CoreResult<LoginResponse> {
    let response = client
        .post(endpoint(base_url, "/api/v1/login"))
        .json(request)
        .send()
        .await
        .map_err(network)?;
    let status = response.status();
    let body = response.bytes().await.map_err(network)?;
    if !status.is_success() {
        return Err(status_error(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| CoreError::Protocol(format!("login answer: {e}")))
}

/// `POST /api/v1/enrol`: redeems a one-time enrolment code.
pub(crate) async fn redeem(
    client: &reqwest::Client,
    base_url: &str,
    request: &EnrolRedeemRequest,
) -> CoreResult<LoginResponse> {
    let response = client
        .post(endpoint(base_url, "/api/v1/enrol"))
        .json(request)
        .send()
        .await
        .map_err(network)?;
    let status = response.status();
    let body = response.bytes().await.map_err(network)?;
    if !status.is_success() {
        return Err(status_error(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| CoreError::Protocol(format!("enrol answer: {e}")))
}

/// What one sync round cost on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Traffic {
    pub sent: u64,
    pub received: u64,
}

/// `POST /api/v1/sync`: one round. The answer is checked against the request (one reply
/// per document, same order) before anyone acts on it.
pub(crate) async fn sync(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    request: &SyncRequest,
) -> CoreResult<(SyncResponse, Traffic)> {
    let body = request.encode();
    let sent = body.len() as u64;
    let response = client
        .post(endpoint(base_url, "/api/v1/sync"))
        .bearer_auth(token)
        .header(CONTENT_TYPE_HEADER, CONTENT_TYPE)
        .header(ACCEPT, CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .map_err(network)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(network)?;
    let traffic = Traffic {
        sent,
        received: bytes.len() as u64,
    };
    if !status.is_success() {
        return Err(status_error(status, &bytes));
    }
    let answer = SyncResponse::decode(&bytes)
        .map_err(|e| CoreError::Protocol(format!("sync answer: {e}")))?;
    let matches = answer.docs.len() == request.docs.len()
        && answer
            .docs
            .iter()
            .zip(&request.docs)
            .all(|(reply, sent)| reply.case_id() == sent.case_id);
    if !matches {
        return Err(CoreError::Protocol(
            "sync answer does not reply to each document in order".into(),
        ));
    }
    Ok((answer, traffic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_typed_errors() {
        let body = |code: &str| format!(r#"{{"error":"{code}","message":"x"}}"#).into_bytes();
        assert!(matches!(
            status_error(StatusCode::UNAUTHORIZED, &body("bad_credentials")),
            CoreError::BadCredentials
        ));
        assert!(matches!(
            status_error(StatusCode::UNAUTHORIZED, &body("unauthorized")),
            CoreError::Unauthorized
        ));
        assert!(matches!(
            status_error(StatusCode::FORBIDDEN, &body("device_revoked")),
            CoreError::Revoked(None)
        ));
        let with_reason = br#"{"error":"device_revoked","message":"x","reason":"lost"}"#;
        assert!(matches!(
            status_error(StatusCode::FORBIDDEN, with_reason),
            CoreError::Revoked(Some(ref r)) if r == "lost"
        ));
        assert!(matches!(
            status_error(StatusCode::BAD_REQUEST, &body("unsupported_protocol")),
            CoreError::Refused { status: 400, ref code } if code == "unsupported_protocol"
        ));
        assert!(matches!(
            status_error(StatusCode::BAD_GATEWAY, b"<html>proxy</html>"),
            CoreError::ServerFailed { status: 502, .. }
        ));
    }

    #[test]
    fn endpoints_tolerate_a_trailing_slash() {
        assert_eq!(
            endpoint("http://10.0.0.2:8080/", "/api/v1/sync"),
            "http://10.0.0.2:8080/api/v1/sync"
        );
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_a_network_error() {
        // Bind then drop a listener: the port is then (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let request = SyncRequest::new(Default::default(), vec![]);
        let err = sync(
            &client().unwrap(),
            &format!("http://127.0.0.1:{port}"),
            "t",
            &request,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CoreError::Network(_)), "{err:?}");
    }
}
