//! `GET /api/v1/stats`: counts by unit × status, within scope.

use axum::http::StatusCode;
use hecha_shared::api::CaseStats;
use hecha_shared::CaseId;

use crate::support::{error_of, sample_case, TestServer};

#[tokio::test]
async fn counts_by_unit_and_status_follow_the_callers_scope() {
    let server = TestServer::new();
    for (username, unit, cases) in [("chaoyang-v1", "chaoyang", 2), ("xinghai-v2", "xinghai", 3)] {
        let mut phone = server.device(username).await;
        for n in 0..cases {
            phone.create_case(&sample_case(
                CaseId::new_random(),
                unit,
                &format!("户{n}"),
                "",
                0,
            ));
        }
        phone.sync(&server).await;
    }
    let cells = |stats: &CaseStats| {
        stats
            .counts
            .iter()
            .map(|c| {
                (
                    c.unit.to_string(),
                    c.unit_name.clone(),
                    c.status.clone(),
                    c.count,
                )
            })
            .collect::<Vec<_>>()
    };

    let bureau = server.login("bureau-staff").await;
    let all: CaseStats = server.get_json(&bureau.token, "/api/v1/stats").await;
    assert_eq!(all.total, 5);
    assert_eq!(
        cells(&all),
        vec![
            ("chaoyang".into(), "朝阳街道".into(), "applied".into(), 2),
            ("xinghai".into(), "星海镇".into(), "applied".into(), 3),
        ]
    );

    let supervisor = server.login("xinghai-sup").await;
    let own: CaseStats = server.get_json(&supervisor.token, "/api/v1/stats").await;
    assert_eq!(own.total, 3);
    assert_eq!(
        cells(&own),
        vec![("xinghai".into(), "星海镇".into(), "applied".into(), 3)]
    );

    let empty_unit = server.login("jinlin-v1").await;
    let none: CaseStats = server.get_json(&empty_unit.token, "/api/v1/stats").await;
    assert_eq!((none.total, none.counts.len()), (0, 0));

    let admin = server.login("it-admin").await;
    let (status, body) = server.get(&admin.token, "/api/v1/stats").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&body).error, "forbidden");
}
