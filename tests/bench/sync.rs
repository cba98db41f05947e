//! Sync benchmark: prints figures, asserts nothing about speed (run by `cargo xtask bench`).
//!
//! - the cost of a no-op sync (nothing changed anywhere) against a server holding 20 and
//!   2,000 case documents of the device's unit: bytes each way and wall time per run;
//! - pushing 2,000 new cases from one device, and the initial sync of those 2,000 cases to a
//!   fresh device of the same unit (a supervisor's new tablet).
//!
//! Real parts: the server over HTTP on 127.0.0.1, app cores on SQLite files in temp dirs.

use std::time::{Duration, Instant};

use hecha_e2e::{TestDevice, TestServer};
use hecha_shared::app_api::SyncReport;
use hecha_shared::case::{ApplicantForm, CaseForm, MemberForm};
use hecha_shared::id_number::with_check_digit;
use hecha_shared::sync::{Cursor, SyncRequest, SyncResponse, CONTENT_TYPE};

fn form(i: usize) -> CaseForm {
    let id = with_check_digit(&format!("640202{:04}0101{:03}", 1950 + i % 50, i % 1000))
        .expect("a valid fixture ID number");
    CaseForm {
        case_id: None,
        applicant: ApplicantForm {
            name: format!("申请人{i}"),
            id_number: id.to_string(),
            phone: "13800000000".into(),
            address: format!("朝阳街道幸福里{i}号"),
            ..Default::default()
        },
        members: vec![
            MemberForm {
                name: format!("配偶{i}"),
                relation: "spouse".into(),
                ..Default::default()
            },
            MemberForm {
                name: format!("子女{i}"),
                relation: "child".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn scenario(docs: usize) {
    let server = TestServer::start();
    let verifier = TestDevice::new();
    verifier.enrol(&server.url(), "chaoyang-v1").await;

    let t = Instant::now();
    for i in 0..docs {
        verifier.core.save_case(form(i)).expect("save a case");
    }
    let capture = t.elapsed();

    let t = Instant::now();
    let push: SyncReport = verifier.core.sync_now().await.expect("push");
    let push_time = t.elapsed();

    // The device is now in line with the server: every further run is a no-op.
    let mut times = Vec::new();
    let mut last = SyncReport::default();
    for _ in 0..25 {
        let t = Instant::now();
        last = verifier.core.sync_now().await.expect("no-op sync");
        times.push(t.elapsed());
    }

    // The server's share of a no-op: one bare request (no documents, a cursor past every
    // change) straight over HTTP.
    let token = server.login("chaoyang-v1").await.token;
    let http = reqwest::Client::new();
    let body = SyncRequest::new(Cursor(u64::MAX / 2), vec![]).encode();
    let mut server_times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let response = http
            .post(format!("{}/api/v1/sync", server.url()))
            .bearer_auth(&token)
            .header("content-type", CONTENT_TYPE)
            .body(body.clone())
            .send()
            .await
            .expect("bare no-op request");
        assert!(response.status().is_success());
        let bytes = response.bytes().await.expect("body");
        SyncResponse::decode(&bytes).expect("a sync response");
        server_times.push(t.elapsed());
    }

    let tablet = TestDevice::new();
    tablet.enrol(&server.url(), "chaoyang-sup").await;
    let t = Instant::now();
    let initial: SyncReport = tablet.core.sync_now().await.expect("initial sync");
    let initial_time = t.elapsed();
    let listed = tablet.core.list_cases("").expect("list").len();

    println!("--- {docs} case documents on the server (one unit) ---");
    println!(
        "capture {docs} cases locally: {:.2?} ({:.2} ms/case)",
        capture,
        capture.as_secs_f64() * 1000.0 / docs as f64
    );
    println!(
        "push {docs} new cases: {:.2?}, {} rounds, {} KiB up, {} KiB down",
        push_time,
        push.rounds,
        push.bytes_sent / 1024,
        push.bytes_received / 1024
    );
    println!(
        "no-op sync: median {:.2?} over {} runs; {} round(s), {} docs, {} bytes up, {} bytes down",
        median(times.clone()),
        times.len(),
        last.rounds,
        last.docs_sent,
        last.bytes_sent,
        last.bytes_received
    );
    println!(
        "  of which the server round trip (bare HTTP request): median {:.2?} over {} runs",
        median(server_times.clone()),
        server_times.len()
    );
    println!(
        "initial sync of {docs} cases to a fresh tablet: {:.2?}, {} rounds, {} KiB down, {listed} cases listed",
        initial_time,
        initial.rounds,
        initial.bytes_received / 1024
    );
    assert_eq!(listed, docs, "the fresh tablet must end up with every case");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        scenario(20).await;
        scenario(2_000).await;
    });
}
