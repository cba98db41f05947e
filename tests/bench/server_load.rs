//! Server load benchmark: prints figures, asserts only that the work was done (run by
//! `cargo xtask bench server_load`, release build). One real server on its SQLite default
//! in a temp dir, HTTP over 127.0.0.1; the load generator runs in the same process (so
//! it shares the machine's cores with the server, as on a 2-core test box).
//!
//! 1. No-op sync cost at 1,000, 10,000 and 20,000 case documents: bytes each way and
//!    round-trip time of a sync that has nothing to do (must not grow).
//! 2. Initial sync of one street's 2,000 cases (of the 20,000) to a fresh tablet: a real
//!    app core enrolled as the street's supervisor.
//! 3. 500 devices, each really enrolled over HTTP (`POST /api/v1/login`, its own actor
//!    id), each pushing new visit documents with real sync requests from a tokio task:
//!    sustained visits per second and latency percentiles.
//! 4. Filtered ledger queries over the 20,000 cases (`GET /api/v1/cases?...`).
//! 5. The XLSX export of all 20,000 ledger rows.
//!
//! Where a figure is not about writing (1, 2, 4, 5), the cases are seeded straight into
//! the server's store with `AppState::import_cases` (same ledger derivation as a sync).

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::{ActorId, Automerge};
use hecha_e2e::{TestDevice, TestServer};
use hecha_shared::api::{CaseList, LoginRequest, LoginResponse, Role};
use hecha_shared::case::{create_document, CaseDoc, ChangeNote, IncomeItem, Member};
use hecha_shared::id_number::with_check_digit;
use hecha_shared::sync::{Cursor, DocMessage, DocReply, SyncRequest, SyncResponse, CONTENT_TYPE};
use hecha_shared::{CaseId, UnitId};

/// Units of the demo district (the bureau's own unit holds no street cases).
const STREETS: [&str; 10] = [
    "xinghai",
    "renminlu",
    "chaoyang",
    "qingshan",
    "changcheng",
    "changsheng",
    "changxing",
    "jinlin",
    "goukou",
    "shitanjing",
];
/// The street whose 2,000 cases a fresh tablet syncs.
const TABLET_STREET: &str = "chaoyang";
const PASSWORD: &str = hecha_e2e::PASSWORD;
const STATUSES: [&str; 6] = [
    "applied",
    "investigation",
    "street_review",
    "public_notice",
    "active",
    "rejected",
];
const ASSISTANCE: [&str; 4] = ["dibao", "tekun", "medical", "temporary"];
const HARDSHIP: [&str; 4] = ["illness", "disability", "unemployment", "no_labour"];
/// 2026-01-01 00:00 Beijing.
const YEAR_START_MS: i64 = 1_767_196_800_000;

fn note() -> ChangeNote {
    ChangeNote {
        action: "create".into(),
        author: "压测".into(),
        device: "bench".into(),
    }
}

/// A filled-in case of `unit`: applicant with a valid ID number, two members, income,
/// hardship causes, assistance types and a home visit — case `i` of a generated district.
fn case(i: usize, unit: &str, id: CaseId) -> CaseDoc {
    let unit_id = UnitId::new(unit).expect("a demo unit code");
    let mut case = CaseDoc::new_case(id, &unit_id, YEAR_START_MS);
    let birth = format!("{:04}{:02}{:02}", 1940 + i % 60, 1 + i % 12, 1 + i % 28);
    let id_number = with_check_digit(&format!("640202{birth}{:03}", i % 1000))
        .expect("a valid fixture ID number");
    case.status = STATUSES[i % STATUSES.len()].into();
    case.applicant.name = format!("申请人{i}");
    case.applicant.id_number = id_number.to_string();
    case.applicant.phone = "13800000000".into();
    case.applicant.address = format!("幸福里{i}号");
    case.applicant.community = format!("第{}社区", i % 7 + 1);
    case.applicant.area = if i.is_multiple_of(3) {
        "rural"
    } else {
        "urban"
    }
    .into();
    for (n, relation) in ["spouse", "child"].iter().enumerate() {
        case.members.insert(
            format!("m{n}"),
            Member {
                name: format!("成员{i}-{n}"),
                relation: (*relation).into(),
                added_at: n as i64,
                ..Default::default()
            },
        );
    }
    case.income.insert(
        "w".into(),
        IncomeItem {
            category: "wages".into(),
            period: "monthly".into(),
            amount_fen: 80_000 + (i as i64 % 50) * 1_000,
            added_at: 1,
            ..Default::default()
        },
    );
    case.hardship
        .insert(HARDSHIP[i % HARDSHIP.len()].into(), true);
    case.assistance
        .insert(ASSISTANCE[i % ASSISTANCE.len()].into(), true);
    if i.is_multiple_of(5) {
        case.assistance.insert("medical".into(), true);
    }
    case.visit.started_at = YEAR_START_MS + (i as i64 % 300) * 86_400_000;
    case.visit.ended_at = case.visit.started_at + 3_600_000;
    case.narrative = "家庭成员患病，收入不稳定。".into();
    case
}

/// Generated cases `from..to` of the district as saved documents, by unit (on every core).
fn generate(from: usize, to: usize) -> Vec<(String, Vec<u8>)> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = (to - from).div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let actor = ActorId::from(vec![0x5e, t as u8, 1, 2, 3, 4, 5, 6]);
                    let lo = from + t * chunk;
                    let hi = (lo + chunk).min(to);
                    (lo..hi)
                        .map(|i| {
                            let unit = unit_of(i);
                            let doc = create_document(
                                actor.clone(),
                                &case(i, unit, CaseId::new_random()),
                                &note(),
                                YEAR_START_MS,
                            )
                            .expect("create a case document");
                            (unit.to_string(), doc.save())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread"))
            .collect()
    })
}

/// Case `i`'s unit: every tenth case is the tablet street's, the rest spread evenly.
fn unit_of(i: usize) -> &'static str {
    STREETS[i % STREETS.len()]
}

/// Seeds cases `from..to` straight into the server's store.
fn seed(server: &TestServer, from: usize, to: usize) -> Duration {
    let t = Instant::now();
    let docs = generate(from, to);
    let mut by_unit: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
    for (unit, bytes) in docs {
        by_unit.entry(unit).or_default().push(bytes);
    }
    for (unit, docs) in by_unit {
        let unit = UnitId::new(unit).expect("unit");
        let stored = server
            .state()
            .import_cases(&unit, None, &docs)
            .expect("import cases");
        assert_eq!(stored, docs.len());
    }
    t.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn login(
    http: &reqwest::Client,
    url: &str,
    username: &str,
    actor: &ActorId,
) -> LoginResponse {
    let response = http
        .post(format!("{url}/api/v1/login"))
        .json(&LoginRequest {
            username: username.into(),
            password: PASSWORD.into(),
            device_name: format!("压测设备 {}", &actor.to_hex_string()[..8]),
            actor_id: actor.to_hex_string(),
        })
        .send()
        .await
        .expect("login request");
    assert!(
        response.status().is_success(),
        "login {username}: {}",
        response.status()
    );
    response.json().await.expect("login answer")
}

async fn sync(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> (SyncResponse, usize) {
    let response = http
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(token)
        .header("content-type", CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .expect("sync request");
    assert!(
        response.status().is_success(),
        "sync: {}",
        response.status()
    );
    let bytes = response.bytes().await.expect("sync answer");
    (
        SyncResponse::decode(&bytes).expect("a sync response"),
        bytes.len(),
    )
}

/// The cursor a device in line with the server holds: it follows `more` to the end.
async fn catch_up(http: &reqwest::Client, url: &str, token: &str) -> Cursor {
    let mut cursor = Cursor(0);
    loop {
        let (response, _) = sync(http, url, token, SyncRequest::new(cursor, vec![]).encode()).await;
        cursor = response.cursor;
        if !response.more {
            return cursor;
        }
    }
}

/// Figure 1: The cost of a sync with nothing to do: median and p99 over 200 runs.
async fn noop_cost(http: &reqwest::Client, url: &str, token: &str, docs: usize) {
    let cursor = catch_up(http, url, token).await;
    let body = SyncRequest::new(cursor, vec![]).encode();
    let mut times = Vec::new();
    let mut down = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let (response, bytes) = sync(http, url, token, body.clone()).await;
        times.push(t.elapsed());
        assert!(response.changed.is_empty(), "a no-op sync lists nothing");
        down = bytes;
    }
    times.sort();
    println!(
        "no-op sync at {docs:>6} documents: {} bytes up, {down} bytes down, round trip median {}, p99 {}",
        body.len(),
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 99.0)),
    );
}

/// The message a device sends for a case the server has never seen: all of it.
fn push_all(doc: &Automerge) -> Vec<u8> {
    let mut state = State::new();
    let nothing = Automerge::new()
        .generate_sync_message(&mut State::new())
        .expect("a first message");
    let mut scratch = doc.clone();
    scratch
        .receive_sync_message(&mut state, nothing)
        .expect("receive the empty summary");
    scratch
        .generate_sync_message(&mut state)
        .expect("a message with every change")
        .encode()
}

/// Figure 3: `devices` enrolled devices each pushing `per_device` new visit documents, one sync
/// request per visit, all devices at once; then more at a steady offered rate.
async fn push_visits(server: &TestServer, bureau: &str, devices: usize, per_device: usize) {
    let url = server.url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()
        .expect("http client");
    let verifiers: Vec<(String, String)> = server
        .state()
        .list_users()
        .expect("users")
        .into_iter()
        .filter(|u| u.info.role == Role::Verifier)
        .map(|u| (u.info.username, u.info.unit.to_string()))
        .collect();

    // Enrolment: each device logs in with its own new actor (Argon2 at the server, four at
    // a time so the hashes do not take all the memory at once).
    let t = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(4));
    let mut enrolments = Vec::new();
    for d in 0..devices {
        let (username, unit) = verifiers[d % verifiers.len()].clone();
        let (http, url, gate) = (http.clone(), url.clone(), gate.clone());
        enrolments.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&(d as u64 + 1).to_be_bytes());
            bytes[8..].copy_from_slice(b"loadtest");
            let actor = ActorId::from(bytes.to_vec());
            let login = login(&http, &url, &username, &actor).await;
            let cursor = catch_up(&http, &url, &login.token).await;
            (login, actor, unit, cursor)
        }));
    }
    let mut enrolled = Vec::new();
    for e in enrolments {
        enrolled.push(e.await.expect("enrolment task"));
    }
    let enrol_time = t.elapsed();

    // Each device's visit documents, made before the clock starts (a phone's own work).
    let t = Instant::now();
    let mut prepared = Vec::new();
    for (n, (login, actor, unit, cursor)) in enrolled.into_iter().enumerate() {
        let mut bodies = Vec::new();
        for k in 0..per_device + PACED_PER_DEVICE {
            let case_id = CaseId::new_random();
            let mut visit = case(100_000 + n * per_device + k, &unit, case_id);
            visit.origin = "discovery".into();
            visit.discovery.urgent = k == 0;
            let doc = create_document(actor.clone(), &visit, &note(), YEAR_START_MS)
                .expect("a visit document");
            bodies.push((case_id, push_all(&doc)));
        }
        let paced = bodies.split_off(per_device);
        prepared.push((login.token, cursor, bodies, paced));
    }
    let prepare_time = t.elapsed();

    let before = server_case_count(&http, &url, bureau).await;
    let start = Arc::new(tokio::sync::Barrier::new(devices + 1));
    let mut tasks = Vec::new();
    let mut paced_work = Vec::new();
    for (token, cursor, bodies, paced) in prepared {
        let (http, url, start) = (http.clone(), url.clone(), start.clone());
        let token2 = token.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut cursor = cursor;
            let mut latencies = Vec::new();
            for (case_id, message) in bodies {
                let (latency, next) = push_one(&http, &url, &token, cursor, case_id, message).await;
                latencies.push(latency);
                cursor = next;
            }
            (latencies, cursor)
        }));
        paced_work.push((token2, paced));
    }
    start.wait().await;
    let t = Instant::now();
    let mut latencies = Vec::new();
    let mut cursors = Vec::new();
    for task in tasks {
        let (l, cursor) = task.await.expect("device task");
        latencies.extend(l);
        cursors.push(cursor);
    }
    let wall = t.elapsed();

    // Then the same devices at a steady offered rate of PACED_RATE visits per second (each
    // visit sent at its scheduled time, whatever the previous answers): latency at the
    // target load rather than with every device queued at once.
    let interval = Duration::from_secs_f64(1.0 / PACED_RATE);
    let paced_start = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut paced_tasks = Vec::new();
    for (d, ((token, paced), cursor)) in paced_work.into_iter().zip(cursors).enumerate() {
        let (http, url) = (http.clone(), url.clone());
        paced_tasks.push(tokio::spawn(async move {
            let mut cursor = cursor;
            let mut latencies = Vec::new();
            for (k, (case_id, message)) in paced.into_iter().enumerate() {
                let slot = (k * devices + d) as u32;
                tokio::time::sleep_until(paced_start + interval * slot).await;
                let (latency, next) = push_one(&http, &url, &token, cursor, case_id, message).await;
                latencies.push(latency);
                cursor = next;
            }
            latencies
        }));
    }
    let t = Instant::now();
    let mut paced_latencies = Vec::new();
    for task in paced_tasks {
        paced_latencies.extend(task.await.expect("paced device task"));
    }
    let paced_wall = t.elapsed();

    let after = server_case_count(&http, &url, bureau).await;
    assert_eq!(
        after - before,
        devices * (per_device + PACED_PER_DEVICE),
        "every visit was stored"
    );
    latencies.sort();
    paced_latencies.sort();
    let visits = latencies.len();
    println!(
        "{devices} devices enrolled over HTTP in {:.1?} (Argon2 login + first sync each); visit documents prepared in {:.1?}",
        enrol_time, prepare_time
    );
    println!(
        "{visits} new visits pushed by {devices} devices all at once ({per_device} each, one sync request per visit): {:.2?} wall, {:.0} visits/s sustained; latency p50 {}, p90 {}, p99 {}, max {}",
        wall,
        visits as f64 / wall.as_secs_f64(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(percentile(&latencies, 100.0)),
    );
    println!(
        "{} more visits from the same {devices} devices offered at a steady {PACED_RATE:.0}/s: done in {:.2?}; latency p50 {}, p90 {}, p99 {}, max {}",
        paced_latencies.len(),
        paced_wall,
        ms(percentile(&paced_latencies, 50.0)),
        ms(percentile(&paced_latencies, 90.0)),
        ms(percentile(&paced_latencies, 99.0)),
        ms(percentile(&paced_latencies, 100.0)),
    );
}

/// Visits each device sends at the steady rate after the burst.
const PACED_PER_DEVICE: usize = 2;
/// The offered rate of the steady phase (the target), visits per second.
const PACED_RATE: f64 = 400.0;

/// One device's sync request carrying one new visit; its latency and the next cursor.
async fn push_one(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    cursor: Cursor,
    case_id: CaseId,
    message: Vec<u8>,
) -> (Duration, Cursor) {
    let body = SyncRequest::new(cursor, vec![DocMessage { case_id, message }]).encode();
    let t = Instant::now();
    let (response, _) = sync(http, url, token, body).await;
    let latency = t.elapsed();
    assert!(
        matches!(response.docs.first(), Some(DocReply::Message(_))),
        "the visit was taken: {:?}",
        response.docs.first()
    );
    (latency, response.cursor)
}

/// How many cases the server holds (bureau staff see them all).
async fn server_case_count(http: &reqwest::Client, url: &str, bureau: &str) -> usize {
    let (_, body) = get(http, url, bureau, "/api/v1/cases?limit=1").await;
    let list: CaseList = serde_json::from_slice(&body).expect("case list");
    list.total as usize
}

async fn get(http: &reqwest::Client, url: &str, token: &str, path: &str) -> (Duration, Vec<u8>) {
    let t = Instant::now();
    let response = http
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let body = response.bytes().await.expect("body").to_vec();
    (t.elapsed(), body)
}

/// Figure 2: A supervisor's fresh tablet (a real app core) syncs the street's cases.
async fn initial_sync(url: &str) {
    let tablet = TestDevice::new();
    tablet.enrol(url, &format!("{TABLET_STREET}-sup")).await;
    let t = Instant::now();
    let report = tablet.core.sync_now().await.expect("initial sync");
    let time = t.elapsed();
    let listed = tablet.core.list_cases("").expect("list").len();
    println!(
        "initial sync of the {listed} cases of {TABLET_STREET} to its supervisor's fresh tablet: {:.2?}, {} rounds, {} KiB down",
        time,
        report.rounds,
        report.bytes_received / 1024
    );
    assert_eq!(listed, 2_000, "the tablet holds the street's every case");
}

/// Figure 4: Filtered queries over the whole district (bureau staff), each run 20 times.
async fn queries(http: &reqwest::Client, url: &str, token: &str) {
    let queries = [
        "status=active&assistance=dibao&sort=per_capita_income&order=asc",
        "hardship=illness&visit_from=2026-03-01&visit_to=2026-06-30&sort=name",
        "unit=chaoyang&status=investigation&sort=visit",
        "name=%E7%94%B3%E8%AF%B7%E4%BA%BA1&sort=created", // 申请人1
        "id_suffix=0011&limit=50",
        "updated_from=2026-01-01&offset=19000&limit=100",
    ];
    for query in queries {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..20 {
            let (time, body) = get(http, url, token, &format!("/api/v1/cases?{query}")).await;
            let list: CaseList = serde_json::from_slice(&body).expect("case list");
            total = list.total;
            times.push(time);
        }
        times.sort();
        println!(
            "query over 20,000 cases `{query}`: {total} match; median {}, max {}",
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 100.0)),
        );
    }
    for stats in ["/api/v1/stats/assistance", "/api/v1/stats/visits"] {
        let (time, _) = get(http, url, token, stats).await;
        println!("statistics `{stats}` over 20,000 cases: {}", ms(time));
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let server = TestServer::start();
        let url = server.url();
        let http = reqwest::Client::new();
        let device = ActorId::from(vec![0xbe; 16]);
        let verifier = login(&http, &url, "chaoyang-v1", &device).await;
        let bureau = login(&http, &url, "bureau-staff", &ActorId::from(vec![0xb0; 16])).await;

        // `HECHA_BENCH_ONLY=push`: only the 500-device push, over 1,000 seeded cases (for
        // trying a change to the write path quickly).
        if std::env::var("HECHA_BENCH_ONLY").as_deref() == Ok("tablet") {
            // Only the tablet's initial sync, over the street's 2,000 cases alone.
            let docs: Vec<Vec<u8>> = (0..20_000)
                .filter(|i| unit_of(*i) == TABLET_STREET)
                .map(|i| {
                    create_document(
                        ActorId::from(vec![0x5e; 8]),
                        &case(i, TABLET_STREET, CaseId::new_random()),
                        &note(),
                        YEAR_START_MS,
                    )
                    .expect("create a case document")
                    .save()
                })
                .collect();
            server
                .state()
                .import_cases(&UnitId::new(TABLET_STREET).expect("unit"), None, &docs)
                .expect("import");
            initial_sync(&url).await;
            return;
        }
        if std::env::var("HECHA_BENCH_ONLY").as_deref() == Ok("push") {
            seed(&server, 0, 1_000);
            println!("--- 3. 500 devices pushing new visit documents (1,000 cases seeded) ---");
            push_visits(&server, &bureau.token, 500, 4).await;
            return;
        }
        println!("--- 1. no-op sync (a chaoyang verifier's device in line with the server) ---");
        let mut seeded = 0;
        for docs in [1_000, 10_000, 20_000] {
            let time = seed(&server, seeded, docs);
            println!(
                "(seeded {} more documents straight into the store in {:.1?})",
                docs - seeded,
                time
            );
            seeded = docs;
            noop_cost(&http, &url, &verifier.token, docs).await;
        }

        println!("--- 2. initial sync of one street's cases to a fresh tablet ---");
        initial_sync(&url).await;

        println!("--- 4./5. queries and the XLSX export over 20,000 cases (bureau staff) ---");
        queries(&http, &url, &bureau.token).await;
        let (time, bytes) = get(&http, &url, &bureau.token, "/api/v1/export/cases.xlsx").await;
        println!(
            "XLSX export of the 20,000-row ledger: {:.2?}, {} KiB",
            time,
            bytes.len() / 1024
        );
        let (time, bytes) = get(&http, &url, &bureau.token, "/api/v1/export/cases.csv").await;
        println!(
            "CSV export of the 20,000-row ledger: {:.2?}, {} KiB",
            time,
            bytes.len() / 1024
        );

        println!("--- 3. 500 devices pushing new visit documents ---");
        push_visits(&server, &bureau.token, 500, 4).await;
    });
}
