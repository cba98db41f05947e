//! Operational metrics in the Prometheus text format (`GET /metrics`), hand-rolled: request
//! counts by route, method and status, request latency histograms by route and method,
//! sync documents in and out (counters kept here), and gauges read from the database at
//! scrape time (cases, active devices, users, database reachable).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Latency {
    /// Requests at or below each bucket's bound (cumulative when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The counters of one server (one [`AppState`]).
#[derive(Default)]
pub(crate) struct Metrics {
    /// (route, method, status) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// (route, method) → latency.
    latency: Mutex<BTreeMap<(String, String), Latency>>,
    sync_requests: AtomicU64,
    sync_docs_in: AtomicU64,
    sync_docs_out: AtomicU64,
    sync_docs_rejected: AtomicU64,
    sync_bytes_in: AtomicU64,
    sync_bytes_out: AtomicU64,
}

/// The database-backed gauges, read at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gauges {
    pub cases: i64,
    pub devices_active: i64,
    pub devices_revoked: i64,
    pub users: i64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    pub(crate) fn record_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        *lock(&self.requests)
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let mut latency = lock(&self.latency);
        let l = latency
            .entry((route.to_string(), method.to_string()))
            .or_default();
        l.count += 1;
        l.sum_seconds += secs;
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            l.buckets[i] += 1;
        }
    }

    /// One sync exchange: documents (and their encoded bytes) received and answered.
    pub(crate) fn record_sync(
        &self,
        docs_in: usize,
        bytes_in: usize,
        docs_out: usize,
        rejected: usize,
        bytes_out: usize,
    ) {
        let add = |c: &AtomicU64, n: usize| {
            c.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
        };
        add(&self.sync_requests, 1);
        add(&self.sync_docs_in, docs_in);
        add(&self.sync_bytes_in, bytes_in);
        add(&self.sync_docs_out, docs_out);
        add(&self.sync_docs_rejected, rejected);
        add(&self.sync_bytes_out, bytes_out);
    }

    /// The Prometheus text exposition (format 0.0.4). `gauges` None: the database could
    /// not be read (`hecha_db_up 0`).
    pub(crate) fn render(&self, gauges: Option<Gauges>) -> String {
        let mut out = String::new();

        header(
            &mut out,
            "hecha_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, method and status.",
        );
        for ((route, method, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "hecha_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }

        header(
            &mut out,
            "hecha_http_request_duration_seconds",
            "histogram",
            "Time from request to response headers, by route template and method.",
        );
        for ((route, method), l) in lock(&self.latency).iter() {
            let labels = format!("route=\"{}\",method=\"{}\"", escape(route), escape(method));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(l.buckets.iter()) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "hecha_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "hecha_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 hecha_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 hecha_http_request_duration_seconds_count{{{labels}}} {}",
                l.count, l.sum_seconds, l.count
            );
        }

        for (name, help, counter) in [
            (
                "hecha_sync_requests_total",
                "Sync requests decoded and run.",
                &self.sync_requests,
            ),
            (
                "hecha_sync_documents_received_total",
                "Document messages received from devices.",
                &self.sync_docs_in,
            ),
            (
                "hecha_sync_documents_sent_total",
                "Document messages sent back to devices.",
                &self.sync_docs_out,
            ),
            (
                "hecha_sync_documents_rejected_total",
                "Document messages refused (malformed, or changes not of the device's actor).",
                &self.sync_docs_rejected,
            ),
            (
                "hecha_sync_received_bytes_total",
                "Bytes of sync request bodies.",
                &self.sync_bytes_in,
            ),
            (
                "hecha_sync_sent_bytes_total",
                "Bytes of sync response bodies.",
                &self.sync_bytes_out,
            ),
        ] {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }

        header(
            &mut out,
            "hecha_db_up",
            "gauge",
            "1 if the database answered this scrape.",
        );
        let _ = writeln!(out, "hecha_db_up {}", u8::from(gauges.is_some()));
        if let Some(g) = gauges {
            for (name, help, value) in [
                ("hecha_cases", "Case documents stored.", g.cases),
                (
                    "hecha_devices_active",
                    "Enrolled devices whose token is not revoked.",
                    g.devices_active,
                ),
                (
                    "hecha_devices_revoked",
                    "Devices revoked by IT.",
                    g.devices_revoked,
                ),
                ("hecha_users", "Accounts.", g.users),
            ] {
                header(&mut out, name, "gauge", help);
                let _ = writeln!(out, "{name} {value}");
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Label values escaped as the text format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Reads the gauges (one short read transaction).
pub(crate) fn gauges(conn: &rusqlite::Connection) -> rusqlite::Result<Gauges> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM cases),
                (SELECT count(*) FROM devices WHERE revoked_at_ms IS NULL),
                (SELECT count(*) FROM devices WHERE revoked_at_ms IS NOT NULL),
                (SELECT count(*) FROM users)",
        [],
        |r| {
            Ok(Gauges {
                cases: r.get(0)?,
                devices_active: r.get(1)?,
                devices_revoked: r.get(2)?,
                users: r.get(3)?,
            })
        },
    )
}

/// Middleware: times every request and counts it under its route template (`unmatched`
/// for paths no route has, so scanners cannot grow the label set).
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = known_method(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics().record_request(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn known_method(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.record_request("/a", "GET", 200, Duration::from_millis(3));
        m.record_request("/a", "GET", 200, Duration::from_millis(300));
        m.record_request("/a\"", "GET", 404, Duration::from_secs(20));
        let text = m.render(None);
        assert!(text
            .contains("hecha_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2"));
        assert!(text.contains(
            "hecha_http_request_duration_seconds_bucket{route=\"/a\",method=\"GET\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "hecha_http_request_duration_seconds_bucket{route=\"/a\",method=\"GET\",le=\"0.5\"} 2"
        ));
        assert!(text.contains(
            "hecha_http_request_duration_seconds_bucket{route=\"/a\\\"\",method=\"GET\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains("hecha_db_up 0"));
    }
}
