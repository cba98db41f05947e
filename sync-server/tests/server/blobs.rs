//! Photo transfer: chunked, resumable, verified uploads of blobs named by their SHA-256,
//! and reads limited to callers whose scope holds a case naming the blob.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use hecha_shared::blob::{BlobStatus, MAX_BLOB_BYTES, MAX_CHUNK_BYTES, PHOTOS_KEY};
use hecha_shared::CaseId;
use sha2::{Digest, Sha256};

use crate::support::{error_of, sample_case, TestDevice, TestServer};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bytes that look like a photo file to nobody but are distinct per `seed`.
fn photo_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

/// A case of `device`'s unit whose document names `hashes` as photos (full image, and the
/// next one as its thumbnail when there is one), synced to the server.
async fn case_naming(
    server: &TestServer,
    device: &mut TestDevice,
    unit: &str,
    seed: u8,
    hashes: &[&str],
) -> CaseId {
    let id = CaseId::from_random_bytes([seed; 16]);
    device.create_case(&sample_case(id, unit, "王秀兰", "11010519491231002X", 1));
    let doc = device.docs.get_mut(&id).unwrap();
    let mut tx = doc.transaction();
    let photos = tx.put_object(ROOT, PHOTOS_KEY, ObjType::Map).unwrap();
    for pair in hashes.chunks(2) {
        let item = tx.put_object(&photos, pair[0], ObjType::Map).unwrap();
        tx.put(&item, "sha256", pair[0]).unwrap();
        tx.put(&item, "thumb_sha256", pair.get(1).copied().unwrap_or(""))
            .unwrap();
        tx.put(&item, "removed", false).unwrap();
    }
    tx.commit();
    let report = device.sync(server).await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    id
}

async fn put_chunk(
    server: &TestServer,
    token: &str,
    name: &str,
    content_range: Option<&str>,
    chunk: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/blobs/{name}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream");
    if let Some(range) = content_range {
        request = request.header(header::CONTENT_RANGE, range);
    }
    server.send(request.body(Body::from(chunk)).unwrap()).await
}

/// Sends `bytes[start..end]` as one chunk of a blob of `bytes.len()`.
async fn send_range(
    server: &TestServer,
    token: &str,
    name: &str,
    bytes: &[u8],
    start: usize,
    end: usize,
) -> (StatusCode, Vec<u8>) {
    let range = format!("bytes {start}-{}/{}", end - 1, bytes.len());
    put_chunk(
        server,
        token,
        name,
        Some(&range),
        bytes[start..end].to_vec(),
    )
    .await
}

fn status_of(body: &[u8]) -> BlobStatus {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not a blob status: {}", String::from_utf8_lossy(body)))
}

async fn status(server: &TestServer, token: &str, name: &str) -> (StatusCode, Vec<u8>) {
    server
        .get(token, &format!("/api/v1/blobs/{name}/status"))
        .await
}

/// Every file under the server's blob directory (complete and partial).
fn stored_files(server: &TestServer) -> Vec<String> {
    let root = server.state.config().data_dir.join("blobs");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn an_upload_cut_off_resumes_from_what_the_server_holds() {
    let server = TestServer::new();
    let mut device = server.device("chaoyang-v1").await;
    let photo = photo_bytes(1, 600_000);
    let name = sha(&photo);
    case_naming(&server, &mut device, "chaoyang", 1, &[&name]).await;
    let token = device.token().to_string();

    let (code, body) = status(&server, &token, &name).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        status_of(&body),
        BlobStatus {
            sha256: name.clone(),
            size: 0,
            received: 0,
            complete: false
        }
    );

    // The first chunk arrives, then the link drops.
    let (code, body) = send_range(&server, &token, &name, &photo, 0, 262_144).await;
    assert_eq!(code, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(status_of(&body).received, 262_144);

    // Back online, the device asks where to go on from.
    let (_, body) = status(&server, &token, &name).await;
    let held = status_of(&body);
    assert_eq!(
        (held.size, held.received, held.complete),
        (600_000, 262_144, false)
    );

    // Sending from the start again is refused: those bytes are there already.
    let (code, body) = send_range(&server, &token, &name, &photo, 0, 262_144).await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(error_of(&body).error, "offset_mismatch");
    assert!(error_of(&body).message.contains("262144"));

    let (code, _) = send_range(&server, &token, &name, &photo, 262_144, 524_288).await;
    assert_eq!(code, StatusCode::OK);
    let (code, body) = send_range(&server, &token, &name, &photo, 524_288, 600_000).await;
    assert_eq!(code, StatusCode::OK);
    assert!(status_of(&body).complete);

    let (code, got) = server.get(&token, &format!("/api/v1/blobs/{name}")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(sha(&got), name);
    assert_eq!(got, photo);
    assert_eq!(
        stored_files(&server),
        vec![name.clone()],
        "no partial file left"
    );
}

#[tokio::test]
async fn bytes_that_do_not_hash_to_the_name_are_refused_and_nothing_is_kept() {
    let server = TestServer::new();
    let mut device = server.device("chaoyang-v1").await;
    let photo = photo_bytes(2, 300_000);
    let name = sha(&photo);
    case_naming(&server, &mut device, "chaoyang", 2, &[&name]).await;
    let token = device.token().to_string();

    let mut damaged = photo.clone();
    damaged[299_999] ^= 0xff;
    let (code, _) = send_range(&server, &token, &name, &damaged, 0, 200_000).await;
    assert_eq!(code, StatusCode::OK);
    let (code, body) = send_range(&server, &token, &name, &damaged, 200_000, 300_000).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let error = error_of(&body);
    assert_eq!(error.error, "hash_mismatch");
    assert!(error.message.contains("校验失败"), "{}", error.message);

    let (_, body) = status(&server, &token, &name).await;
    assert_eq!(
        status_of(&body).received,
        0,
        "the partial upload was discarded"
    );
    assert!(
        stored_files(&server).is_empty(),
        "{:?}",
        stored_files(&server)
    );
    let (code, _) = server.get(&token, &format!("/api/v1/blobs/{name}")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // The right bytes are taken afterwards.
    let (code, body) = send_range(&server, &token, &name, &photo, 0, 300_000).await;
    assert_eq!(code, StatusCode::OK);
    assert!(status_of(&body).complete);
}

#[tokio::test]
async fn a_blob_the_server_holds_is_never_taken_twice() {
    let server = TestServer::new();
    let mut first = server.device("xinghai-v1").await;
    let mut second = server.device("xinghai-v2").await;
    let photo = photo_bytes(3, 50_000);
    let name = sha(&photo);
    case_naming(&server, &mut first, "xinghai", 3, &[&name]).await;
    // The same photo in another case, by another verifier of the unit.
    case_naming(&server, &mut second, "xinghai", 4, &[&name]).await;

    let (code, _) = send_range(&server, first.token(), &name, &photo, 0, 50_000).await;
    assert_eq!(code, StatusCode::OK);
    let path = server
        .state
        .config()
        .data_dir
        .join("blobs")
        .join(&name[..2])
        .join(&name);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();

    // The second device asks first and learns there is nothing to send.
    let (code, body) = status(&server, second.token(), &name).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        status_of(&body),
        BlobStatus {
            sha256: name.clone(),
            size: 50_000,
            received: 50_000,
            complete: true
        }
    );
    // Even if it sends anyway, the stored file is left as it is.
    let (code, body) = send_range(&server, second.token(), &name, &photo, 0, 10_000).await;
    assert_eq!(code, StatusCode::OK);
    assert!(status_of(&body).complete);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(std::fs::read(&path).unwrap(), photo);
}

#[tokio::test]
async fn only_callers_whose_scope_holds_a_case_naming_the_blob_may_read_it() {
    let server = TestServer::new();
    let mut owner = server.device("chaoyang-v1").await;
    let photo = photo_bytes(5, 20_000);
    let thumb = photo_bytes(6, 2_000);
    let (name, thumb_name) = (sha(&photo), sha(&thumb));
    case_naming(&server, &mut owner, "chaoyang", 5, &[&name, &thumb_name]).await;
    for (bytes, n) in [(&photo, &name), (&thumb, &thumb_name)] {
        let (code, _) = send_range(&server, owner.token(), n, bytes, 0, bytes.len()).await;
        assert_eq!(code, StatusCode::OK);
    }

    for username in ["chaoyang-v1", "chaoyang-sup", "bureau-staff"] {
        let token = server.login(username).await.token;
        for (bytes, n) in [(&photo, &name), (&thumb, &thumb_name)] {
            let (code, got) = server.get(&token, &format!("/api/v1/blobs/{n}")).await;
            assert_eq!(code, StatusCode::OK, "{username}");
            assert_eq!(&got, bytes, "{username}");
        }
    }
    for username in ["xinghai-v1", "xinghai-sup", "it-admin"] {
        let token = server.login(username).await.token;
        for uri in [
            format!("/api/v1/blobs/{name}"),
            format!("/api/v1/blobs/{name}/status"),
        ] {
            let (code, body) = server.get(&token, &uri).await;
            assert_eq!(code, StatusCode::NOT_FOUND, "{username} {uri}");
            assert_eq!(error_of(&body).error, "unavailable");
        }
        let (code, _) = send_range(&server, &token, &name, &photo, 0, photo.len()).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{username} may not upload");
    }

    // A blob no case names: the same answer, even for the would-be owner, so the server
    // is no free file store.
    let stray = photo_bytes(7, 1_000);
    let stray_name = sha(&stray);
    let (code, body) = send_range(&server, owner.token(), &stray_name, &stray, 0, 1_000).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body).error, "unavailable");
    // No token at all.
    let (code, _) = server
        .send(
            Request::get(format!("/api/v1/blobs/{name}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oversized_blobs_and_chunks_are_refused() {
    let server = TestServer::new();
    let mut device = server.device("chaoyang-v1").await;
    let name = sha(b"a big scan");
    case_naming(&server, &mut device, "chaoyang", 8, &[&name]).await;
    let token = device.token().to_string();

    let total = MAX_BLOB_BYTES + 1;
    let range = format!("bytes 0-999/{total}");
    let (code, body) = put_chunk(&server, &token, &name, Some(&range), vec![0; 1000]).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(&body).error, "blob_too_large");
    assert!(error_of(&body).message.contains("10 MB"));

    let chunk = MAX_CHUNK_BYTES as usize + 1;
    let range = format!("bytes 0-{}/{}", chunk - 1, chunk * 2);
    let (code, _) = put_chunk(&server, &token, &name, Some(&range), vec![0; chunk]).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(stored_files(&server).is_empty());
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_and_change_nothing() {
    let server = TestServer::new();
    let mut device = server.device("chaoyang-v1").await;
    let photo = photo_bytes(9, 10_000);
    let name = sha(&photo);
    case_naming(&server, &mut device, "chaoyang", 9, &[&name]).await;
    let token = device.token().to_string();

    let garbage = [
        None,
        Some("bytes=0-9999"),
        Some("bytes 0-9999"),
        Some("bytes 0-x/10000"),
        Some("bytes 5000-4999/10000"),
        Some("bytes 0-10000/10000"),
        Some("bytes 0-99999999999999999999999/1"),
        Some("茶"),
    ];
    for range in garbage {
        let (code, body) = put_chunk(&server, &token, &name, range, photo.clone()).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{range:?}");
        assert_eq!(error_of(&body).error, "bad_request", "{range:?}");
    }
    // The range and the body disagree.
    let (code, _) = put_chunk(
        &server,
        &token,
        &name,
        Some("bytes 0-99/10000"),
        photo.clone(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    // Names that are not SHA-256 hex.
    for bad in ["abc", "..%2F..%2Fetc%2Fpasswd", &name.to_uppercase()] {
        let (code, _) = server.get(&token, &format!("/api/v1/blobs/{bad}")).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, body) = status(&server, &token, &name).await;
    assert_eq!(status_of(&body).received, 0);
    assert!(stored_files(&server).is_empty());
}
