//! The operator's side: health with the database, the standards from the config, metrics
//! behind their token, backup while serving → restore → the same cases, the integrity
//! check finding (and repairing) ledger drift and damaged blobs, and HTTPS with a
//! self-signed certificate.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use hecha_server::maintenance::{self, BACKUP_NOTE, BLOBS_DIR};
use hecha_server::standards::{Area, DibaoStandard, Standards};
use hecha_server::{AppState, ServerConfig, DB_FILE};
use hecha_shared::CaseId;

use crate::support::{error_of, sample_case, TestServer};

const METRICS_TOKEN: &str = "scrape-token-0123456789";

#[tokio::test]
async fn health_says_the_database_answers() {
    let server = TestServer::new();
    let (status, body) = server
        .send(Request::get("/api/v1/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["db"], "ok");
}

#[tokio::test]
async fn the_configured_standards_are_served_to_every_logged_in_caller_only() {
    let standards = Standards {
        dibao: vec![DibaoStandard {
            year: 2026,
            area: Area::Rural,
            monthly_fen: 81_000,
        }],
        asset_rules: Default::default(),
    };
    let configured = standards.clone();
    let server = TestServer::with_config(move |mut c| {
        c.standards = configured;
        c
    });
    for user in ["chaoyang-v1", "bureau-staff", "it-admin"] {
        let login = server.login(user).await;
        let got: Standards = server.get_json(&login.token, "/api/v1/standards").await;
        assert_eq!(got, standards, "{user}");
    }
    let (status, body) = server
        .send(
            Request::get("/api/v1/standards")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).error, "unauthorized");
}

async fn scrape(server: &TestServer, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get("/metrics");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, body) = server.send(request.body(Body::empty()).unwrap()).await;
    (status, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn metrics_are_off_without_a_token_and_refuse_a_wrong_one() {
    let server = TestServer::new();
    assert_eq!(
        scrape(&server, Some(METRICS_TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    let server = TestServer::with_config(|mut c| {
        c.metrics_token = Some(METRICS_TOKEN.into());
        c
    });
    assert_eq!(scrape(&server, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&server, Some("scrape-token-0123456780")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_sync_documents_cases_and_devices() {
    let server = TestServer::with_config(|mut c| {
        c.metrics_token = Some(METRICS_TOKEN.into());
        c
    });
    let mut device = server.device("chaoyang-v1").await;
    let id = CaseId::from_random_bytes([7; 16]);
    device.create_case(&sample_case(
        id,
        "chaoyang",
        "王秀兰",
        "110105194912310021",
        2,
    ));
    let report = device.sync(&server).await;
    assert!(report.rejected.is_empty(), "{report:?}");
    let _ = server.cases(device.token(), "").await;
    let _ = server.cases(device.token(), "").await;
    let (status, _) = server.get(device.token(), "/api/v1/no-such-route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, text) = scrape(&server, Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    for line in [
        "hecha_http_requests_total{route=\"/api/v1/cases\",method=\"GET\",status=\"200\"} 2",
        "hecha_http_requests_total{route=\"/api/v1/login\",method=\"POST\",status=\"200\"} 1",
        "hecha_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "hecha_http_request_duration_seconds_count{route=\"/api/v1/cases\",method=\"GET\"} 2",
        "hecha_sync_documents_received_total 1",
        "hecha_sync_documents_rejected_total 0",
        "hecha_cases 1",
        "hecha_devices_active 1",
        "hecha_db_up 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let sent: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("hecha_sync_documents_sent_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(sent >= 1, "{text}");
}

/// A server with two cases synced from a verifier's device.
async fn server_with_cases() -> (TestServer, Vec<CaseId>) {
    let server = TestServer::new();
    let mut device = server.device("chaoyang-v1").await;
    let ids = vec![
        CaseId::from_random_bytes([1; 16]),
        CaseId::from_random_bytes([2; 16]),
    ];
    device.create_case(&sample_case(
        ids[0],
        "chaoyang",
        "王秀兰",
        "110105194912310021",
        2,
    ));
    device.create_case(&sample_case(
        ids[1],
        "chaoyang",
        "李建国",
        "11010519491231002X",
        0,
    ));
    let report = device.sync(&server).await;
    assert!(report.rejected.is_empty(), "{report:?}");
    (server, ids)
}

fn write_blob(dir: &std::path::Path, bytes: &[u8], name_of: &[u8]) -> String {
    use sha2::Digest;
    let name = hex::encode(sha2::Sha256::digest(name_of));
    let sub = dir.join(BLOBS_DIR).join(&name[..2]);
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join(&name), bytes).unwrap();
    name
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_to_the_same_cases_and_blobs() {
    let (server, ids) = server_with_cases().await;
    let data = server.state.config().data_dir.clone();
    let blob = write_blob(&data, b"photo bytes", b"photo bytes");
    // A partial upload is not a blob: it is not copied.
    std::fs::write(data.join(BLOBS_DIR).join("upload.part"), b"half").unwrap();

    let out = server.dir.path().join("backups");
    std::fs::create_dir_all(out.join("older")).unwrap();
    let report = maintenance::backup(&data, &out, SystemTime::now()).unwrap();
    assert!(
        report.dir.starts_with(&out) && report.dir != out,
        "{report:?}"
    );
    assert!(report
        .dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("hecha-backup-"));
    assert_eq!(report.cases, 2);
    assert_eq!(report.blobs, 1);
    assert!(report.dir.join(DB_FILE).is_file());
    assert!(report.dir.join(BACKUP_NOTE).is_file());
    assert!(report
        .dir
        .join(BLOBS_DIR)
        .join(&blob[..2])
        .join(&blob)
        .is_file());
    assert!(!report.dir.join(BLOBS_DIR).join("upload.part").exists());

    // The server keeps working after the backup; the backup does not see later cases.
    let mut device = server.device("chaoyang-v1").await;
    device.create_case(&sample_case(
        CaseId::from_random_bytes([3; 16]),
        "chaoyang",
        "赵六",
        "",
        0,
    ));
    device.sync(&server).await;

    let restored = server.dir.path().join("restored");
    let r = maintenance::restore(&report.dir, &restored, false).unwrap();
    assert_eq!((r.cases, r.blobs), (2, 1));
    let state = AppState::open(ServerConfig::new(&restored)).unwrap();
    let app = hecha_server::app(state.clone());
    let restored_server = TestServer {
        dir: tempfile::tempdir().unwrap(),
        state,
        app,
        clock: server.clock.clone(),
    };
    let login = restored_server.login("chaoyang-v1").await;
    let list = restored_server.cases(&login.token, "").await;
    let mut got: Vec<CaseId> = list.cases.iter().map(|c| c.case_id).collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    let names: Vec<&str> = list
        .cases
        .iter()
        .map(|c| c.applicant_name.as_str())
        .collect();
    assert!(
        names.contains(&"王秀兰") && names.contains(&"李建国"),
        "{names:?}"
    );
    assert_eq!(
        std::fs::read(restored.join(BLOBS_DIR).join(&blob[..2]).join(&blob)).unwrap(),
        b"photo bytes"
    );

    // A data directory in use is not overwritten without --force.
    let refused = maintenance::restore(&report.dir, &data, false)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("--force"), "{refused}");

    // With --force an old data directory's database and blobs are replaced.
    let old = server.dir.path().join("old");
    std::fs::create_dir_all(old.join(BLOBS_DIR).join("zz")).unwrap();
    std::fs::write(old.join(DB_FILE), b"not a database").unwrap();
    std::fs::write(old.join(BLOBS_DIR).join("zz").join("x"), b"old").unwrap();
    let r = maintenance::restore(&report.dir, &old, true).unwrap();
    assert_eq!((r.cases, r.blobs), (2, 1));
    assert!(!old.join(BLOBS_DIR).join("zz").exists());
    assert!(!old.join(format!("{DB_FILE}.restoring")).exists());
    assert!(maintenance::check(&old, false).unwrap().is_clean());
}

#[tokio::test]
async fn a_damaged_backup_is_not_restored() {
    let (server, _) = server_with_cases().await;
    let data = server.state.config().data_dir.clone();
    let out = server.dir.path().join("b");
    let report = maintenance::backup(&data, &out, SystemTime::now()).unwrap();
    write_blob(&report.dir, b"not what the name says", b"original");
    let target = server.dir.path().join("r");
    let err = maintenance::restore(&report.dir, &target, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("damaged"), "{err}");
    assert!(!target.join(DB_FILE).exists());
}

#[tokio::test]
async fn check_reports_ledger_drift_and_damaged_blobs_and_repair_rewrites_the_rows() {
    let (server, ids) = server_with_cases().await;
    let data = server.state.config().data_dir.clone();
    write_blob(&data, b"good", b"good");

    let clean = maintenance::check(&data, false).unwrap();
    assert!(clean.is_clean(), "{clean}");
    assert_eq!(clean.cases, 2);
    assert_eq!(clean.blobs_ok, 1);

    // Someone edits the ledger behind the documents' back, and a blob rots.
    let conn = rusqlite::Connection::open(data.join(DB_FILE)).unwrap();
    conn.execute(
        "UPDATE cases SET applicant_name = '篡改', member_count = 9 WHERE case_id = ?1",
        [ids[0].to_string()],
    )
    .unwrap();
    drop(conn);
    let bad_blob = write_blob(&data, b"rotten", b"fresh");

    let found = maintenance::check(&data, false).unwrap();
    assert!(!found.is_clean());
    assert_eq!(found.drift.len(), 1, "{found}");
    assert_eq!(found.drift[0].case_id, ids[0].to_string());
    let text = found.drift[0].differences.join("; ");
    assert!(
        text.contains("applicant_name: \"篡改\" → \"王秀兰\"") && text.contains("member_count"),
        "{text}"
    );
    assert_eq!(found.blobs_bad.len(), 1);
    assert!(found.blobs_bad[0].ends_with(&bad_blob));
    assert!(found.to_string().contains("PROBLEMS FOUND"));
    // Without --repair nothing changed.
    let token = server.login("chaoyang-v1").await.token;
    let list = server.cases(&token, "").await;
    assert!(list.cases.iter().any(|c| c.applicant_name == "篡改"));

    let repaired = maintenance::check(&data, true).unwrap();
    assert_eq!(repaired.repaired, 1);
    let list = server.cases(&token, "").await;
    assert!(list.cases.iter().any(|c| c.applicant_name == "王秀兰"));
    assert!(!list.cases.iter().any(|c| c.applicant_name == "篡改"));
    let after = maintenance::check(&data, false).unwrap();
    assert!(after.drift.is_empty(), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate_answers_health() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = generated.cert.pem();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, generated.signing_key.serialize_pem()).unwrap();

    let tls = hecha_server::load_tls_config(&cert_path, &key_path).unwrap();
    let state = AppState::open(ServerConfig::new(dir.path().join("data"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hecha_server::serve_tls(listener, state, tls, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/api/v1/health", addr.port());
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    // A client that does not trust the certificate gets no answer.
    let untrusting = reqwest::Client::builder()
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(untrusting.get(&url).send().await.is_err());
    // Plain HTTP to the HTTPS port gets no HTTP answer either.
    assert!(reqwest::get(format!("http://{addr}/api/v1/health"))
        .await
        .is_err());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the TLS server stops")
        .unwrap()
        .unwrap();
}

#[test]
fn a_key_that_is_not_a_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "not a key").unwrap();
    let err = hecha_server::load_tls_config(&cert, &key)
        .unwrap_err()
        .to_string();
    assert!(err.contains("key.pem"), "{err}");
}

#[tokio::test]
async fn a_token_stops_working_after_its_configured_lifetime_and_a_new_login_works() {
    let server = TestServer::with_config(|mut c| {
        c.token_lifetime_days = 1;
        c
    });
    let token = server.login("chaoyang-v1").await.token;
    server.advance(86_400_000);
    let (status, _) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "exactly one day old still works");
    server.advance(1);
    let (status, body) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).error, "unauthorized");
    let fresh = server.login("chaoyang-v1").await.token;
    let (status, _) = server.get(&fresh, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);

    // 0: tokens never expire.
    let forever = TestServer::with_config(|mut c| {
        c.token_lifetime_days = 0;
        c
    });
    let token = forever.login("chaoyang-v1").await.token;
    forever.advance(10 * 365 * 86_400_000);
    assert_eq!(forever.get(&token, "/api/v1/me").await.0, StatusCode::OK);
}
