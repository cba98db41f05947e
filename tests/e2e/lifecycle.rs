//! End-to-end lifecycle: real app cores for two verifiers, a supervisor and bureau staff
//! talking to a real `hecha-server` over HTTP. A case goes from application to bureau
//! approval, each step made on the device of the person whose role allows it, offline
//! between syncs; the server's ledger follows and its re-check flags nothing. Then a
//! device with a wrong clock closes a notice the server knows is too young: the step is
//! kept and flagged. Spot-check draws are reproducible from their seed.

use std::time::{SystemTime, UNIX_EPOCH};

use hecha_e2e::{TestClock, TestDevice, TestServer};
use hecha_shared::app_api::{
    DeliberationRequest, ErrorCode, NoticeRequest, SignRequest, TransitionRequest,
};
use hecha_shared::case::lifecycle_doc::Representative;
use hecha_shared::case::{ApplicantForm, CaseForm, Conclusion, Housing, NeighbourVisitForm, Visit};
use hecha_shared::id_number::with_check_digit;
use hecha_shared::signature::Point;
use hecha_shared::CaseId;

const DAY: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn complete_form(name: &str) -> CaseForm {
    CaseForm {
        applicant: ApplicantForm {
            name: name.into(),
            id_number: with_check_digit("64020219650101123").unwrap().to_string(),
            phone: "13800000000".into(),
            registered_address: "大武口区星海镇".into(),
            address: "大武口区星海镇幸福里3号".into(),
            community: "幸福里社区".into(),
            area: "urban".into(),
        },
        hardship: vec!["illness".into()],
        assistance: vec!["dibao".into()],
        housing: Housing {
            kind: "owned".into(),
            area_m2x100: 4500,
            condition: "fair".into(),
            note: String::new(),
        },
        conclusion: Conclusion {
            opinion: "eligible".into(),
            text: "家庭收入低于当地低保标准".into(),
        },
        visit: Visit {
            started_at: now_ms() - 40 * DAY,
            ended_at: now_ms() - 40 * DAY + 3_600_000,
            gps_status: "unavailable".into(),
            ..Default::default()
        },
        neighbour_visits: vec![NeighbourVisitForm {
            name: "邻居张大妈".into(),
            relation_or_address: "对门".into(),
            statement: "该户男主人长期患病，家中无稳定收入".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn strokes() -> Vec<Vec<Point>> {
    vec![(0..20u16)
        .map(|i| Point {
            x: 1000 + i * 900,
            y: 20_000 + (i % 5) * 3000,
            t: u32::from(i) * 15,
            pressure: None,
        })
        .collect()]
}

fn sign(device: &TestDevice, id: CaseId, role: &str, name: &str, visit: Option<String>) {
    device
        .core
        .sign_case(SignRequest {
            case_id: id,
            role: role.into(),
            signer_name: name.into(),
            neighbour_visit: visit,
            strokes: strokes(),
            fingerprint_photo: None,
        })
        .unwrap_or_else(|e| panic!("sign as {role}: {e:?}"));
}

fn step(device: &TestDevice, id: CaseId, t: &str, comment: &str) -> String {
    device
        .core
        .transition_case(TransitionRequest {
            case_id: id,
            transition: t.into(),
            comment: comment.into(),
        })
        .unwrap_or_else(|e| panic!("{t}: {e:?}"))
        .state
}

async fn sync(device: &TestDevice) {
    device.core.sync_now().await.expect("sync");
}

async fn get_json(server: &TestServer, username: &str, path: &str) -> serde_json::Value {
    let token = server.login(username).await.token;
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

async fn status_on_server(server: &TestServer, id: CaseId) -> String {
    let list = server.cases("bureau-staff", "").await;
    let row = serde_json::to_value(&list).unwrap()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == id.to_string())
        .cloned()
        .expect("case on the server");
    row["status"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_goes_from_application_to_bureau_approval_across_devices() {
    let server = TestServer::start();
    // Every device's clock runs 30 days behind the server's: the steps are dated in the
    // past, so the server judges each one on its own date.
    let base = now_ms() - 30 * DAY;
    let device = |offset: i64| TestDevice::with_clock(TestClock::fixed(base + offset));
    let v1 = device(0);
    let v2 = device(0);
    let sup = device(0);
    let bureau = device(0);
    v1.enrol(&server.url(), "xinghai-v1").await;
    v2.enrol(&server.url(), "xinghai-v2").await;
    sup.enrol(&server.url(), "xinghai-sup").await;
    bureau.enrol(&server.url(), "bureau-staff").await;

    // The verifier records the application on behalf of the household.
    let id = v1.core.save_case(complete_form("马秀英")).unwrap();
    sync(&v1).await;
    assert_eq!(status_on_server(&server, id).await, "applied");

    // Only the street accepts: the verifier's device refuses with the rule.
    let err = v1
        .core
        .transition_case(TransitionRequest {
            case_id: id,
            transition: "accept".into(),
            comment: String::new(),
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Lifecycle);
    assert_eq!(err.message, "核查员无权执行“受理”（仅限街道审核员）");

    sync(&sup).await;
    assert_eq!(step(&sup, id, "accept", "材料齐全，予以受理"), "accepted");
    sync(&sup).await;

    // The investigation: both verifiers and the applicant sign.
    sync(&v1).await;
    assert_eq!(step(&v1, id, "start_investigation", ""), "investigation");
    sign(&v1, id, "investigator", "星海核查员一", None);
    sign(&v1, id, "applicant", "马秀英", None);
    sync(&v1).await;
    sync(&v2).await;
    sign(&v2, id, "investigator", "星海核查员二", None);
    sync(&v2).await;
    sync(&v1).await;
    assert_eq!(
        step(&v1, id, "complete_investigation", ""),
        "neighbour_visits"
    );
    let visit_id = v1.core.get_case(id).unwrap().form.neighbour_visits[0]
        .id
        .map(|v| v.to_string());
    sign(&v1, id, "neighbour", "张大妈", visit_id);
    assert_eq!(
        step(&v1, id, "complete_neighbour_visits", ""),
        "deliberation"
    );
    v1.core
        .record_deliberation(DeliberationRequest {
            case_id: Some(id),
            held_on: "2026-01-01".into(),
            place: "幸福里社区居委会".into(),
            representatives: vec![
                Representative {
                    name: "李四".into(),
                    capacity: "居民代表".into(),
                    opinion: "agree".into(),
                    remark: String::new(),
                },
                Representative {
                    name: "王五".into(),
                    capacity: "党员代表".into(),
                    opinion: "agree".into(),
                    remark: String::new(),
                },
            ],
            points: vec!["income".into(), "property".into(), "truthfulness".into()],
            outcome: "pass".into(),
            summary: "参会代表一致认为情况属实".into(),
            sign_in_photos: vec![],
        })
        .unwrap();
    assert_eq!(step(&v1, id, "complete_deliberation", ""), "street_review");
    sync(&v1).await;
    assert_eq!(status_on_server(&server, id).await, "street_review");

    // The street approves and posts the notice; it may close 7 days later.
    sync(&sup).await;
    assert_eq!(step(&sup, id, "street_approve", ""), "public_notice");
    let today = hecha_shared::case::lifecycle_doc::date_of_ms(base).to_string();
    sup.core
        .record_notice(NoticeRequest {
            case_id: Some(id),
            start: today,
            days: Some(7),
            place: "社区公示栏".into(),
        })
        .unwrap();
    let early = sup
        .core
        .transition_case(TransitionRequest {
            case_id: id,
            transition: "close_notice".into(),
            comment: String::new(),
        })
        .unwrap_err();
    assert_eq!(
        early.message,
        "不能执行“公示期满报批”：公示期未满：已公示0天，须满7天"
    );
    sup.clock.set(base + 8 * DAY);
    assert_eq!(step(&sup, id, "close_notice", ""), "bureau_decision");
    sync(&sup).await;

    // The bureau decides.
    bureau.clock.set(base + 9 * DAY);
    sync(&bureau).await;
    let view = bureau.core.case_lifecycle(id).unwrap();
    let offered: Vec<&str> = view.allowed.iter().map(|o| o.transition.as_str()).collect();
    assert_eq!(offered, vec!["approve", "reject", "bureau_return"]);
    assert!(view.allowed[0].blocked.is_none(), "{:?}", view.allowed[0]);
    assert_eq!(step(&bureau, id, "approve", "符合低保条件"), "active");
    sync(&bureau).await;
    assert_eq!(status_on_server(&server, id).await, "active");

    // Everyone sees the same history; the server flagged nothing.
    sync(&v1).await;
    let view = v1.core.case_lifecycle(id).unwrap();
    assert_eq!(view.label, "在保");
    let steps: Vec<(&str, &str)> = view
        .history
        .iter()
        .map(|e| (e.transition_label.as_str(), e.role_label.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("受理", "街道审核员"),
            ("开始入户调查", "核查员"),
            ("完成入户调查", "核查员"),
            ("完成邻里访问", "核查员"),
            ("完成群众评议", "核查员"),
            ("街道审核通过", "街道审核员"),
            ("公示期满报批", "街道审核员"),
            ("审批通过", "民政局"),
        ]
    );
    let flags = get_json(
        &server,
        "bureau-staff",
        &format!("/api/v1/cases/{id}/lifecycle-flags"),
    )
    .await;
    assert_eq!(flags, serde_json::json!([]));

    // Spot checks: the bureau draws from the cases decided in the period, from a seed;
    // the draw is stored and re-runs to the same cases; the drawn case is assigned to a
    // bureau verifier.
    let token = server.login("bureau-staff").await.token;
    let period = hecha_shared::case::lifecycle_doc::date_of_ms(base + 9 * DAY).to_string();
    let drawn: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/spot-checks", server.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "period_from": period, "period_to": period, "share_percent": 10, "seed": "42"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(drawn["population"], serde_json::json!([id.to_string()]));
    assert_eq!(drawn["drawn"][0]["case_id"], id.to_string());
    assert_eq!(drawn["drawn"][0]["assigned_to"], "bureau-v1");
    let again = get_json(
        &server,
        "bureau-staff",
        &format!("/api/v1/spot-checks/{}", drawn["draw_id"]),
    )
    .await;
    assert_eq!(again["rerun_matches"], true);
    assert_eq!(again["seed"], "42");
    let assignments = get_json(
        &server,
        "bureau-staff",
        &format!("/api/v1/cases/{id}/assignments"),
    )
    .await;
    assert!(
        assignments.to_string().contains("bureau-v1"),
        "{assignments}"
    );
    // Only bureau staff draw.
    let refused = reqwest::Client::new()
        .post(format!("{}/api/v1/spot-checks", server.url()))
        .bearer_auth(server.login("xinghai-sup").await.token)
        .json(&serde_json::json!({
            "period_from": period, "period_to": period, "share_percent": 10
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_made_with_a_wrong_clock_is_kept_and_flagged() {
    let server = TestServer::start();
    let now = now_ms();
    let v1 = TestDevice::with_clock(TestClock::fixed(now - 2 * DAY));
    let v2 = TestDevice::with_clock(TestClock::fixed(now - 2 * DAY));
    let sup = TestDevice::with_clock(TestClock::fixed(now - 2 * DAY));
    v1.enrol(&server.url(), "xinghai-v1").await;
    v2.enrol(&server.url(), "xinghai-v2").await;
    sup.enrol(&server.url(), "xinghai-sup").await;
    let id = v1.core.save_case(complete_form("周桂兰")).unwrap();
    sync(&v1).await;
    sync(&sup).await;
    step(&sup, id, "accept", "");
    sync(&sup).await;
    sync(&v1).await;
    step(&v1, id, "start_investigation", "");
    sign(&v1, id, "investigator", "星海核查员一", None);
    sign(&v1, id, "applicant", "周桂兰", None);
    sync(&v1).await;
    sync(&v2).await;
    sign(&v2, id, "investigator", "星海核查员二", None);
    sync(&v2).await;
    sync(&v1).await;
    step(&v1, id, "complete_investigation", "");
    let visit_id = v1.core.get_case(id).unwrap().form.neighbour_visits[0]
        .id
        .map(|v| v.to_string());
    sign(&v1, id, "neighbour", "邻居", visit_id);
    step(&v1, id, "complete_neighbour_visits", "");
    v1.core
        .record_deliberation(DeliberationRequest {
            case_id: Some(id),
            held_on: "2026-01-01".into(),
            place: "居委会".into(),
            representatives: vec![Representative {
                name: "李四".into(),
                capacity: "居民代表".into(),
                opinion: "agree".into(),
                remark: String::new(),
            }],
            points: vec!["income".into()],
            outcome: "pass".into(),
            summary: String::new(),
            sign_in_photos: vec![],
        })
        .unwrap();
    step(&v1, id, "complete_deliberation", "");
    sync(&v1).await;
    sync(&sup).await;
    step(&sup, id, "street_approve", "");
    // The supervisor's tablet clock is a week ahead: on the device the notice has run
    // its 7 days; on the server's calendar it has run 2.
    sup.clock.set(now + 6 * DAY);
    step(&sup, id, "close_notice", "");
    sync(&sup).await;

    // Kept (the case's state follows it) and flagged with the reason.
    let flags = get_json(
        &server,
        "xinghai-sup",
        &format!("/api/v1/cases/{id}/lifecycle-flags"),
    )
    .await;
    let flags = flags.as_array().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["transition"], "close_notice");
    assert_eq!(flags[0]["reason"], "precondition");
    assert_eq!(
        flags[0]["message"],
        "不能执行“公示期满报批”：公示期未满：已公示2天，须满7天"
    );
    assert_eq!(status_on_server(&server, id).await, "bureau_decision");
    // The bureau's list of flagged steps names the case.
    let listed = get_json(&server, "bureau-staff", "/api/v1/stats/lifecycle-flags").await;
    assert_eq!(listed[0]["applicant_name"], "周桂兰");
    assert_eq!(listed[0]["unit"], "xinghai");
    assert_eq!(listed[0]["case_id"], id.to_string());
    let other_unit = get_json(&server, "renminlu-sup", "/api/v1/stats/lifecycle-flags").await;
    assert_eq!(other_unit, serde_json::json!([]));
    // A verifier of another unit cannot see them.
    let token = server.login("renminlu-v1").await.token;
    let hidden = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/cases/{id}/lifecycle-flags",
            server.url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
}
