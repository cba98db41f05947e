//! The authorization matrix: every role × a case of its own unit and a case of another
//! unit × every endpoint, observed through the real router and compared with the table
//! the product promises. A denial must also look right: 404 `unavailable` for one case
//! (indistinguishable from a missing one), 403 `forbidden` for a role without case
//! content, or simply absent from lists.

use std::fmt::Write as _;

use automerge::sync::SyncDoc;
use automerge::Automerge;
use axum::http::StatusCode;
use hecha_shared::api::{AuditList, CaseList, CaseStats, ErrorBody};
use hecha_shared::case::{read_case, write_case};
use hecha_shared::sync::DocReply;
use hecha_shared::CaseId;

use crate::support::{actor_for, note, push_all, sample_case, TestServer};

const ENDPOINTS: [&str; 16] = [
    "GET me",
    "GET cases",
    "GET stats",
    "GET audit",
    "GET export/cases.csv",
    "GET export/cases.xlsx",
    "GET cases/{id}/history",
    "GET cases/{id}/document",
    "GET cases/{id}/document.automerge",
    "POST sync (pull)",
    "POST sync (push)",
    "GET cases/{id}/history (missing id)",
    "GET cases/{id}/assignments",
    "POST cases/{id}/assign (to a verifier of its unit)",
    "POST cases/{id}/transfer (to its own unit)",
    "POST enrol-codes (for a verifier of its unit)",
];

/// (subject, which case, expected allow per endpoint in [`ENDPOINTS`] order).
/// `Y` allowed, `.` denied.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("chaoyang-v1", "own", "YYY.YYYYYYY.Y..."),
    ("chaoyang-v1", "other", "Y..............."),
    ("chaoyang-sup", "own", "YYY.YYYYYYY.YY.Y"),
    ("chaoyang-sup", "other", "Y..............."),
    // The bureau's verifiers: only cases assigned to them (their own new case is).
    ("bureau-v1", "own", "YYY.YYYYYYY.Y..."),
    ("bureau-v1", "other", "Y..............."),
    ("bureau-staff", "own", "YYYYYYYYYYY.YYY."),
    ("bureau-staff", "other", "YYYYYYYYYYY.YYY."),
    ("it-admin", "own", "Y..............Y"),
    ("it-admin", "other", "Y..............Y"),
];

struct Case {
    id: CaseId,
    name: &'static str,
    unit: &'static str,
}

fn expect_error(body: &[u8], code: &str, what: &str) {
    let error: ErrorBody =
        serde_json::from_slice(body).unwrap_or_else(|_| panic!("{what}: not an error body"));
    assert_eq!(error.error, code, "{what}");
}

/// What `username` may do with `case`, endpoint by endpoint.
async fn observe(server: &TestServer, username: &str, case: &Case) -> String {
    let login = server.login(username).await;
    let token = login.token.as_str();
    let name_query = format!("name={}", urlencode(case.name));
    let mut out = String::new();
    let mut mark = |allowed: bool| out.push(if allowed { 'Y' } else { '.' });
    let what = |endpoint: &str| format!("{username} / {} / {endpoint}", case.unit);

    // GET me
    let (status, _) = server.get(token, "/api/v1/me").await;
    mark(status == StatusCode::OK);

    // GET cases: allowed means the case is listed.
    let (status, body) = server
        .get(token, &format!("/api/v1/cases?{name_query}"))
        .await;
    if status == StatusCode::OK {
        let list: CaseList = serde_json::from_slice(&body).unwrap();
        mark(list.cases.iter().any(|c| c.case_id == case.id));
    } else {
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", what("cases"));
        expect_error(&body, "forbidden", &what("cases"));
        mark(false);
    }

    // GET stats: allowed means the case's unit is counted.
    let (status, body) = server.get(token, "/api/v1/stats").await;
    if status == StatusCode::OK {
        let stats: CaseStats = serde_json::from_slice(&body).unwrap();
        mark(stats.counts.iter().any(|c| c.unit.as_str() == case.unit));
    } else {
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", what("stats"));
        mark(false);
    }

    // GET audit
    let (status, body) = server.get(token, "/api/v1/audit").await;
    if status == StatusCode::OK {
        serde_json::from_slice::<AuditList>(&body).unwrap();
        mark(true);
    } else {
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", what("audit"));
        expect_error(&body, "forbidden", &what("audit"));
        mark(false);
    }

    // Exports: allowed means the case is a row of the file.
    for format in ["csv", "xlsx"] {
        let (status, headers, body) = server
            .get_with_headers(
                token,
                &format!("/api/v1/export/cases.{format}?{name_query}"),
            )
            .await;
        if status == StatusCode::OK {
            mark(headers["x-exported-rows"] == "1");
            if format == "csv" {
                assert_eq!(
                    String::from_utf8_lossy(&body).contains(case.name),
                    headers["x-exported-rows"] == "1",
                    "{}",
                    what("csv")
                );
            }
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{}", what(format));
            mark(false);
        }
    }

    // One case: 200, or 404 `unavailable` exactly as for a case that does not exist.
    let missing = CaseId::new_random();
    for suffix in ["history", "document", "document.automerge"] {
        let (status, body) = server
            .get(token, &format!("/api/v1/cases/{}/{suffix}", case.id))
            .await;
        if status == StatusCode::OK {
            mark(true);
        } else {
            let (missing_status, missing_body) = server
                .get(token, &format!("/api/v1/cases/{missing}/{suffix}"))
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{}", what(suffix));
            assert_eq!(
                (status, &body),
                (missing_status, &missing_body),
                "{}",
                what(suffix)
            );
            expect_error(&body, "unavailable", &what(suffix));
            mark(false);
        }
    }

    // Sync, pulling: the server answers with the case, or says it is unavailable.
    let ask = Automerge::new()
        .generate_sync_message(&mut automerge::sync::State::new())
        .unwrap()
        .encode();
    let reply = server.sync_one(token, case.id, ask).await;
    match reply {
        DocReply::Message(_) => mark(true),
        DocReply::Unavailable { case_id } if case_id == case.id => mark(false),
        other => panic!("{}: {other:?}", what("pull")),
    }

    // Sync, pushing an edit written with this device's own actor onto the server's copy.
    let bureau = server.login("bureau-staff").await;
    let (_, bytes) = server
        .get(
            &bureau.token,
            &format!("/api/v1/cases/{}/document.automerge", case.id),
        )
        .await;
    let mut doc = Automerge::load(&bytes)
        .unwrap()
        .with_actor(actor_for(username));
    let mut edited = read_case(&doc).unwrap();
    edited.applicant.phone = format!("phone of {username}");
    write_case(&mut doc, &edited, &note("save"), 9).unwrap();
    let reply = server.sync_one(token, case.id, push_all(&doc)).await;
    match reply {
        DocReply::Message(_) => {
            let (_, after) = server
                .get(
                    &bureau.token,
                    &format!("/api/v1/cases/{}/document.automerge", case.id),
                )
                .await;
            let stored = read_case(&Automerge::load(&after).unwrap()).unwrap();
            mark(stored.applicant.phone == edited.applicant.phone);
        }
        DocReply::Unavailable { case_id } if case_id == case.id => mark(false),
        other => panic!("{}: {other:?}", what("push")),
    }

    // A case id that does not exist is never "allowed".
    let (status, body) = server
        .get(token, &format!("/api/v1/cases/{missing}/history"))
        .await;
    mark(status == StatusCode::OK);
    assert_eq!(status, StatusCode::NOT_FOUND, "{}", what("missing id"));
    expect_error(&body, "unavailable", &what("missing id"));

    // Who the case is assigned to: readable by whoever may read the case.
    let (status, body) = server
        .get(token, &format!("/api/v1/cases/{}/assignments", case.id))
        .await;
    if status == StatusCode::OK {
        mark(true);
    } else {
        assert_eq!(status, StatusCode::NOT_FOUND, "{}", what("assignments"));
        expect_error(&body, "unavailable", &what("assignments"));
        mark(false);
    }

    // Changes of scope and enrolment: allowed (200), or 403 / 404 `unavailable`.
    let verifier = format!("{}-v1", case.unit);
    let changes = [
        (
            format!("/api/v1/cases/{}/assign", case.id),
            serde_json::json!({ "user": verifier }),
        ),
        (
            format!("/api/v1/cases/{}/transfer", case.id),
            serde_json::json!({ "unit": case.unit, "reason": "核对" }),
        ),
        (
            "/api/v1/enrol-codes".to_string(),
            serde_json::json!({ "user": verifier }),
        ),
    ];
    for (uri, body) in changes {
        let (status, answer) = server
            .send(
                axum::http::Request::post(&uri)
                    .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(axum::http::header::CONTENT_TYPE, "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
        match status {
            StatusCode::OK => mark(true),
            StatusCode::FORBIDDEN => {
                expect_error(&answer, "forbidden", &what(&uri));
                mark(false)
            }
            StatusCode::NOT_FOUND => {
                expect_error(&answer, "unavailable", &what(&uri));
                mark(false)
            }
            other => panic!("{}: {other}", what(&uri)),
        }
    }
    out
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn every_role_on_its_own_and_another_units_case_gets_exactly_what_the_table_says() {
    let server = TestServer::new();
    let cases = [
        Case {
            id: CaseId::new_random(),
            name: "局里户",
            unit: "bureau",
        },
        Case {
            id: CaseId::new_random(),
            name: "朝阳户",
            unit: "chaoyang",
        },
        Case {
            id: CaseId::new_random(),
            name: "星海户",
            unit: "xinghai",
        },
    ];
    for (case, creator) in cases.iter().zip(["bureau-v1", "chaoyang-v1", "xinghai-v1"]) {
        let mut phone = server.device(creator).await;
        phone.create_case(&sample_case(case.id, case.unit, case.name, "", 0));
        let report = phone.sync(&server).await;
        assert!(report.rejected.is_empty() && report.unavailable.is_empty());
    }
    let [bureau_case, chaoyang_case, xinghai_case] = &cases;
    // Each subject's "own" case is of its unit; "other" is of another unit.
    let subjects: [(&str, &Case, &Case); 5] = [
        ("chaoyang-v1", chaoyang_case, xinghai_case),
        ("chaoyang-sup", chaoyang_case, xinghai_case),
        ("bureau-v1", bureau_case, chaoyang_case),
        ("bureau-staff", bureau_case, chaoyang_case),
        ("it-admin", bureau_case, chaoyang_case),
    ];

    let mut observed = Vec::new();
    for (username, own, other) in subjects {
        observed.push((username, "own", observe(&server, username, own).await));
        observed.push((username, "other", observe(&server, username, other).await));
    }

    let mut table = String::new();
    for (i, endpoint) in ENDPOINTS.iter().enumerate() {
        let _ = writeln!(table, "{i:>2} {endpoint}");
    }
    for ((username, which, got), (e_user, e_which, expected)) in observed.iter().zip(EXPECTED) {
        let _ = writeln!(
            table,
            "{username:<13} {which:<5} got {got}  expected {expected}{}",
            if got == expected {
                ""
            } else {
                "   <-- differs"
            }
        );
        assert_eq!((username, which), (e_user, e_which));
        assert_eq!(
            expected.len(),
            ENDPOINTS.len(),
            "a row of the table per endpoint"
        );
    }
    let matches = observed
        .iter()
        .zip(EXPECTED)
        .all(|((_, _, got), (_, _, expected))| got == expected);
    assert!(matches, "authorization matrix differs:\n{table}");
}
