//! The audit log: every read of a whole case or its history is written in the request
//! that reads, with the optional reason; logins and revocations too; only bureau staff
//! may read the log.

use axum::http::StatusCode;
use hecha_shared::api::{AuditEntry, AuditList};
use hecha_shared::CaseId;

use crate::support::{error_of, sample_case, TestServer};

async fn audit(server: &TestServer, query: &str) -> Vec<AuditEntry> {
    let bureau = server.login("bureau-staff").await;
    let list: AuditList = server
        .get_json(&bureau.token, &format!("/api/v1/audit{query}"))
        .await;
    list.entries
}

/// Entries other than logins, oldest first.
fn reads(entries: &[AuditEntry]) -> Vec<&AuditEntry> {
    let mut reads: Vec<_> = entries.iter().filter(|e| e.action != "login").collect();
    reads.reverse();
    reads
}

#[tokio::test]
async fn every_read_of_a_case_is_logged_with_who_when_and_why() {
    let server = TestServer::new();
    let mut verifier = server.device("chaoyang-v1").await;
    let id = verifier.create_case(&sample_case(
        CaseId::new_random(),
        "chaoyang",
        "王秀兰",
        "11010519491231002X",
        0,
    ));
    verifier.sync(&server).await;
    let supervisor = server.device("chaoyang-sup").await;
    server.advance(1_000);
    let read_at = server.now();
    let token = supervisor.token();
    let why = "%E8%A1%97%E9%81%93%E5%AE%A1%E6%A0%B8"; // 街道审核
    for uri in [
        format!("/api/v1/cases/{id}/document?why={why}"),
        format!("/api/v1/cases/{id}/history"),
        format!("/api/v1/cases/{id}/document.automerge?why="),
    ] {
        let (status, _) = server.get(token, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
    // Refused reads leave no entry: out of scope, unknown case, a reason too long.
    let other = server.device("xinghai-v1").await;
    let (status, _) = server
        .get(other.token(), &format!("/api/v1/cases/{id}/document"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let long = "x".repeat(201);
    let (status, body) = server
        .get(token, &format!("/api/v1/cases/{id}/document?why={long}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).message.contains("200"));

    let entries = audit(&server, "").await;
    let reads = reads(&entries);
    let summary: Vec<(&str, String, Option<&str>)> = reads
        .iter()
        .map(|e| (e.action.as_str(), e.target.clone(), e.reason.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("read_case", id.to_string(), Some("街道审核")),
            ("read_history", id.to_string(), None),
            ("read_case", format!("{id}.automerge"), None),
        ]
    );
    for entry in &reads {
        assert_eq!(entry.at_ms, read_at);
        assert_eq!(entry.username.as_deref(), Some("chaoyang-sup"));
        assert_eq!(entry.display_name.as_deref(), Some("朝阳街道民政专干"));
        assert_eq!(entry.user_id, Some(supervisor.login.user.user_id));
        assert_eq!(entry.device_id, Some(supervisor.login.device_id));
    }
}

#[tokio::test]
async fn logins_and_revocations_are_logged_and_the_log_filters() {
    let server = TestServer::new();
    let first = server.login("jinlin-v1").await;
    server.advance(60_000);
    let later = server.now();
    let second = server.login("jinlin-v1").await;
    server.login("jinlin-sup").await;
    assert!(server.state.revoke_device(first.device_id).unwrap());

    let all = audit(&server, "").await;
    // Newest first: the bureau's own login for this query, the revocation, then logins.
    assert_eq!(all[0].action, "login");
    assert_eq!(all[0].username.as_deref(), Some("bureau-staff"));
    let revoke = &all[1];
    assert_eq!(revoke.action, "revoke_device");
    assert_eq!(revoke.target, first.device_id.to_string());
    assert_eq!(revoke.user_id, None, "IT's command, not a user's");
    let logins: Vec<_> = all
        .iter()
        .filter(|e| e.username.as_deref() == Some("jinlin-v1"))
        .collect();
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0].device_id, Some(second.device_id));
    assert_eq!(logins[1].device_id, Some(first.device_id));

    let mine = audit(&server, "?user=jinlin-v1").await;
    assert_eq!(mine.len(), 2);
    let since = audit(&server, &format!("?user=jinlin-v1&since_ms={later}")).await;
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].device_id, Some(second.device_id));
    assert_eq!(audit(&server, "?limit=1").await.len(), 1);
    assert!(audit(&server, "?user=nobody").await.is_empty());

    let bureau = server.login("bureau-staff").await;
    for query in ["?since_ms=yesterday", "?limit=-1"] {
        let (status, body) = server
            .get(&bureau.token, &format!("/api/v1/audit{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(error_of(&body).error, "bad_request");
    }
}

#[tokio::test]
async fn only_bureau_staff_read_the_audit_log() {
    let server = TestServer::new();
    for username in ["chaoyang-v1", "bureau-v1", "chaoyang-sup", "it-admin"] {
        let login = server.login(username).await;
        let (status, body) = server.get(&login.token, "/api/v1/audit").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{username}");
        assert_eq!(error_of(&body).error, "forbidden");
    }
    let (status, _) = server.get("garbage", "/api/v1/audit").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
