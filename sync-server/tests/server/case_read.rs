//! One whole case: its history attributed to devices and people, its JSON view and its
//! raw Automerge bytes, each visible only within scope.

use automerge::Automerge;
use axum::http::StatusCode;
use hecha_shared::api::{CaseDocument, CaseHistory};
use hecha_shared::case::read_case;
use hecha_shared::CaseId;

use crate::support::{error_of, sample_case, TestDevice, TestServer};

const ID: &str = "11010519491231002X";

/// A case of 朝阳街道 created by its verifier and then edited by its supervisor.
async fn edited_case(server: &TestServer) -> (CaseId, TestDevice, TestDevice) {
    let mut verifier = server.device("chaoyang-v1").await;
    let id = verifier.create_case(&sample_case(
        CaseId::new_random(),
        "chaoyang",
        "王秀兰",
        ID,
        1,
    ));
    verifier.sync(server).await;
    let mut supervisor = server.device("chaoyang-sup").await;
    supervisor.sync(server).await;
    supervisor.edit_case(id, |c| c.applicant.phone = "13900000000".into());
    supervisor.sync(server).await;
    verifier.sync(server).await;
    (id, verifier, supervisor)
}

#[tokio::test]
async fn the_history_names_the_device_and_person_of_every_change() {
    let server = TestServer::new();
    let (id, verifier, supervisor) = edited_case(&server).await;
    let history: CaseHistory = server
        .get_json(supervisor.token(), &format!("/api/v1/cases/{id}/history"))
        .await;
    assert_eq!(history.case_id, id);
    let expected = verifier.docs[&id].get_changes(&[]);
    assert_eq!(history.changes.len(), 2);
    let hashes: Vec<String> = expected.iter().map(|c| c.hash().to_string()).collect();
    let got: Vec<String> = history.changes.iter().map(|c| c.hash.clone()).collect();
    assert_eq!(got, hashes, "oldest first, as Automerge orders them");

    let created = &history.changes[0];
    assert_eq!(created.action, "create");
    assert_eq!(created.actor, verifier.actor.to_hex_string());
    assert_eq!(created.device_id, Some(verifier.login.device_id));
    assert_eq!(created.device_name.as_deref(), Some("chaoyang-v1 的手机"));
    assert_eq!(created.username.as_deref(), Some("chaoyang-v1"));
    assert_eq!(created.display_name.as_deref(), Some("朝阳街道核查员1"));
    assert_eq!(created.user_id, Some(verifier.login.user.user_id));
    assert_eq!(created.seq, 1);
    assert!(created.deps.is_empty());
    assert_eq!(created.at_ms, expected[0].timestamp() * 1000);

    let edited = &history.changes[1];
    assert_eq!(edited.action, "save");
    assert_eq!(edited.device_id, Some(supervisor.login.device_id));
    assert_eq!(edited.display_name.as_deref(), Some("朝阳街道民政专干"));
    assert_eq!(edited.deps, vec![created.hash.clone()]);
}

#[tokio::test]
async fn the_document_reads_as_json_and_as_raw_automerge_bytes() {
    let server = TestServer::new();
    let (id, verifier, _) = edited_case(&server).await;
    let bureau = server.device("bureau-staff").await;

    let view: CaseDocument = server
        .get_json(bureau.token(), &format!("/api/v1/cases/{id}/document"))
        .await;
    assert_eq!(view.case_id, id);
    assert_eq!(view.unit.as_str(), "chaoyang");
    assert_eq!(view.unit_name, "朝阳街道");
    let doc = &view.document;
    assert_eq!(doc["case_id"], id.to_string());
    assert_eq!(doc["applicant"]["name"], "王秀兰");
    assert_eq!(
        doc["applicant"]["id_number"], ID,
        "the full document is unmasked"
    );
    assert_eq!(doc["applicant"]["phone"], "13900000000");
    assert_eq!(doc["members"]["m0"]["name"], "成员0");
    let heads: Vec<String> = verifier.docs[&id]
        .get_heads()
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(view.heads, heads);

    let (status, bytes) = server
        .get(
            bureau.token(),
            &format!("/api/v1/cases/{id}/document.automerge"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let loaded = Automerge::load(&bytes).expect("any Automerge implementation loads it");
    assert_eq!(loaded.get_heads(), verifier.docs[&id].get_heads());
    assert_eq!(read_case(&loaded).unwrap(), verifier.case(id));
}

#[tokio::test]
async fn outside_the_scope_a_case_is_unavailable_exactly_like_a_missing_one() {
    let server = TestServer::new();
    let (id, _, _) = edited_case(&server).await;
    let missing = CaseId::new_random();
    let other_unit = server.device("xinghai-v1").await;
    let other_sup = server.device("xinghai-sup").await;
    let admin = server.device("it-admin").await;
    for suffix in ["history", "document", "document.automerge"] {
        let (_, missing_body) = server
            .get(
                other_unit.token(),
                &format!("/api/v1/cases/{missing}/{suffix}"),
            )
            .await;
        for who in [&other_unit, &other_sup, &admin] {
            let (status, body) = server
                .get(who.token(), &format!("/api/v1/cases/{id}/{suffix}"))
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{suffix}");
            assert_eq!(body, missing_body, "nothing tells the two apart");
            let error = error_of(&body);
            assert_eq!(error.error, "unavailable");
            assert!(!String::from_utf8_lossy(&body).contains("王秀兰"));
        }
        let (status, body) = server
            .get(
                other_unit.token(),
                &format!("/api/v1/cases/not-an-id/{suffix}"),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_of(&body).error, "bad_request");
        let (status, _) = server
            .get("garbage", &format!("/api/v1/cases/{id}/{suffix}"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
