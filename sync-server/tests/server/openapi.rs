//! The OpenAPI description (`GET /api/v1/openapi.json`, file `sync-server/openapi.json`)
//! against the router: every `.route(...)` registered in `src/` must be in the spec with
//! its methods, every path and method of the spec must be answered by a route (not the
//! fallback, not 405). The failure message says what to add or remove.

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};

use crate::support::{error_of, TestServer};

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The routes `src/**/*.rs` registers, as (METHOD, path), found by reading the source:
/// `.route("<path>", get(h).post(h2)…)`. Paths built at run time, `.nest` and `.merge`
/// are refused so that this list stays complete.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    collect_rs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = BTreeSet::new();
    for file in files {
        let text: String = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for bad in [".nest(", ".merge(", ".nest_service(", ".route_service("] {
            assert!(
                !text.contains(bad),
                "{}: uses {bad}; register routes with .route(\"/full/path\", ...) so the \
                 OpenAPI check can see them (tests/server/openapi.rs)",
                file.display()
            );
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            let args = balanced(call);
            let args_trimmed = args.trim_start();
            assert!(
                args_trimmed.starts_with('"'),
                "{}: a .route( whose path is not a string literal: {}",
                file.display(),
                &args_trimmed[..args_trimmed.len().min(80)]
            );
            let path_end = args_trimmed[1..].find('"').unwrap() + 1;
            let path = args_trimmed[1..path_end].to_string();
            let handlers = &args_trimmed[path_end + 1..];
            let mut found = false;
            for method in HTTP_METHODS {
                if has_call(handlers, method) {
                    routes.insert((method.to_ascii_uppercase(), path.clone()));
                    found = true;
                }
            }
            assert!(
                found,
                "{}: no method found for route {path}",
                file.display()
            );
            rest = &call[args.len()..];
        }
    }
    routes
}

/// `method(` as a call: preceded by `.`, `::`, whitespace or `(` (not part of a longer name).
fn has_call(text: &str, method: &str) -> bool {
    let pattern = format!("{method}(");
    text.match_indices(&pattern).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        !matches!(before, Some(c) if c.is_alphanumeric() || c == '_')
    })
}

/// The text up to the parenthesis closing an already opened one (string literals skipped).
fn balanced(text: &str) -> &str {
    let mut depth = 1;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced .route( call");
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

async fn served_spec(server: &TestServer) -> serde_json::Value {
    let (status, body) = server
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).expect("openapi.json is JSON")
}

fn routes_in_spec(spec: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (key, _) in item.as_object().expect("path item") {
            if HTTP_METHODS.contains(&key.as_str()) {
                routes.insert((key.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_spec_and_the_router_name_the_same_routes() {
    let server = TestServer::new();
    let spec = served_spec(&server).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let in_spec = routes_in_spec(&spec);
    let in_router = routes_in_source();
    assert!(in_router.len() >= 20, "{in_router:?}");

    let listed = |set: BTreeSet<&(String, String)>| -> Vec<String> {
        set.into_iter().map(|(m, p)| format!("{m} {p}")).collect()
    };
    let missing = listed(in_router.difference(&in_spec).collect());
    let stale = listed(in_spec.difference(&in_router).collect());
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the OpenAPI description and the router disagree.\n\
         routes missing from the spec (add them to the `paths` table in \
         sync-server/tools/gen_openapi.py, then run `python3 sync-server/tools/gen_openapi.py .`):\n  {}\n\
         routes in the spec that the router does not have (remove them there):\n  {}",
        if missing.is_empty() { "(none)".to_string() } else { missing.join("\n  ") },
        if stale.is_empty() { "(none)".to_string() } else { stale.join("\n  ") }
    );
}

#[tokio::test]
async fn every_route_of_the_spec_is_answered_by_a_route_not_the_fallback() {
    let server = TestServer::with_config(|mut c| {
        c.metrics_token = Some("metrics-token-for-the-probe".into());
        c
    });
    let spec = served_spec(&server).await;
    for (method, path) in routes_in_spec(&spec) {
        let uri = path
            .replace("{id}", "00000000-0000-4000-8000-000000000000")
            .replace("{sha256}", &"0".repeat(64))
            .replace("{user}", "nobody");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, body) = server.send(request).await;
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: the spec names a method the route does not have"
        );
        if status == StatusCode::NOT_FOUND {
            assert_ne!(
                error_of(&body).error,
                "not_found",
                "{method} {path}: answered by the fallback — no such route"
            );
        }
    }
}

#[test]
fn the_source_scanner_reads_chained_and_multi_line_routes() {
    let text = r#".route(
            "/a/{x}",
            get(h::one)
                .put(h::two)
                .layer(Limit::max(3 as usize)),
        ).route("/b", axum::routing::delete(h::three))"#;
    let args = balanced(&text[".route(".len()..]);
    assert!(args.contains("put(h::two)"));
    assert!(has_call(args, "get") && has_call(args, "put") && !has_call(args, "post"));
    assert!(!has_call("forget(x)", "get"));
}
