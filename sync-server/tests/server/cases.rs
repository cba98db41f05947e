//! `GET /api/v1/cases`: filters, paging and order of the case ledger.

use axum::http::StatusCode;
use hecha_shared::CaseId;

use crate::support::{error_of, sample_case, TestServer};

/// Three cases of 朝阳街道 written a minute apart, oldest first, and one of 星海镇.
async fn ledger() -> (TestServer, String, Vec<CaseId>, i64) {
    let server = TestServer::new();
    let mut phone = server.device("chaoyang-v1").await;
    let mut ids = Vec::new();
    let mut second_at = 0;
    for (name, id_number) in [
        ("王秀兰", "11010519491231002X"),
        ("王建国", "640202198001010011"),
        ("李四", ""),
    ] {
        server.advance(60_000);
        if ids.len() == 1 {
            second_at = server.now();
        }
        ids.push(phone.create_case(&sample_case(
            CaseId::new_random(),
            "chaoyang",
            name,
            id_number,
            ids.len(),
        )));
        phone.sync(&server).await;
    }
    let mut elsewhere = server.device("xinghai-v1").await;
    elsewhere.create_case(&sample_case(
        CaseId::new_random(),
        "xinghai",
        "王五",
        "11010519491231002X",
        0,
    ));
    elsewhere.sync(&server).await;
    (server, phone.token().to_string(), ids, second_at)
}

#[tokio::test]
async fn the_ledger_is_newest_first_and_pages_with_a_total() {
    let (server, token, ids, _) = ledger().await;
    let all = server.cases(&token, "").await;
    assert_eq!(all.total, 3);
    let order: Vec<_> = all.cases.iter().map(|c| c.case_id).collect();
    assert_eq!(order, vec![ids[2], ids[1], ids[0]]);

    let first_page = server.cases(&token, "?limit=2").await;
    assert_eq!(first_page.total, 3);
    assert_eq!(first_page.cases.len(), 2);
    assert_eq!(first_page.cases[0].case_id, ids[2]);
    let second_page = server.cases(&token, "?limit=2&offset=2").await;
    assert_eq!(second_page.total, 3);
    assert_eq!(second_page.cases.len(), 1);
    assert_eq!(second_page.cases[0].case_id, ids[0]);

    let no_id = all.cases.iter().find(|c| c.case_id == ids[2]).unwrap();
    assert_eq!(no_id.id_masked, "");
    assert_eq!(no_id.member_count, 3);
}

#[tokio::test]
async fn name_and_id_suffix_filters_match_within_the_callers_unit() {
    let (server, token, ids, _) = ledger().await;
    let names = |list: hecha_shared::api::CaseList| {
        list.cases
            .into_iter()
            .map(|c| c.applicant_name)
            .collect::<Vec<_>>()
    };
    let wang = "%E7%8E%8B"; // 王
    assert_eq!(
        names(server.cases(&token, &format!("?name={wang}")).await),
        vec!["王建国", "王秀兰"]
    );
    let xiulan = server.cases(&token, "?name=%E7%A7%80%E5%85%B0").await; // 秀兰
    assert_eq!(xiulan.total, 1);
    assert_eq!(xiulan.cases[0].case_id, ids[0]);

    for suffix in ["002X", "002x", "2X", "x"] {
        let list = server.cases(&token, &format!("?id_suffix={suffix}")).await;
        assert_eq!(names(list), vec!["王秀兰"], "{suffix}");
    }
    for suffix in ["0011", "11", "1"] {
        let list = server.cases(&token, &format!("?id_suffix={suffix}")).await;
        assert_eq!(names(list), vec!["王建国"], "{suffix}");
    }
    assert_eq!(server.cases(&token, "?id_suffix=9999").await.total, 0);
    assert_eq!(
        server
            .cases(&token, &format!("?name={wang}&id_suffix=0011"))
            .await
            .total,
        1
    );
    // Filter text is data, never SQL.
    let injection = "?name=%25%27%20OR%201%3D1%20--";
    assert_eq!(server.cases(&token, injection).await.total, 0);
    // Empty parameters are no filter.
    assert_eq!(
        server
            .cases(&token, "?name=&id_suffix=&updated_since_ms=&limit=&offset=")
            .await
            .total,
        3
    );
}

#[tokio::test]
async fn updated_since_keeps_the_cases_changed_from_then_on() {
    let (server, token, ids, second_at) = ledger().await;
    let list = server
        .cases(&token, &format!("?updated_since_ms={second_at}"))
        .await;
    let got: Vec<_> = list.cases.iter().map(|c| c.case_id).collect();
    assert_eq!(got, vec![ids[2], ids[1]]);
    assert_eq!(
        server
            .cases(&token, &format!("?updated_since_ms={}", server.now() + 1))
            .await
            .total,
        0
    );
}

#[tokio::test]
async fn bad_filters_are_a_bad_request() {
    let (server, token, _, _) = ledger().await;
    for query in [
        "?limit=-5",
        "?offset=abc",
        "?id_suffix=12345",
        "?updated_since_ms=soon",
    ] {
        let (status, body) = server.get(&token, &format!("/api/v1/cases{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(error_of(&body).error, "bad_request");
    }
}
