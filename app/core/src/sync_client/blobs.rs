//! Photo transfer, the sync run's steps after the documents: send the blobs of photos
//! taken here (resuming each from the offset the server reports, so nothing that arrived
//! is sent again, and nothing at all when the server has it), then fetch the thumbnails
//! of photos that came in other devices' documents. Full images of those are fetched
//! only on demand ([`fetch_blob`], from `Core::photo_full`).
//!
//! Every fetched blob is checked against its name before it is stored.

use hecha_shared::app_api::SyncReport;
use hecha_shared::blob::{BlobStatus, ContentRange, CHUNK_BYTES};
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE};

use super::http::status_error;
use crate::blobs::BlobError;
use crate::error::{CoreError, CoreResult};
use crate::photos::attach::blob_error;
use crate::store::session::SessionRow;
use crate::store::{cases, photo_queue};
use crate::Inner;

fn endpoint(session: &SessionRow, sha256: &str, suffix: &str) -> String {
    format!(
        "{}/api/v1/blobs/{sha256}{suffix}",
        session.server_url.trim_end_matches('/')
    )
}

fn network(e: reqwest::Error) -> CoreError {
    CoreError::Network(e.to_string())
}

/// The server's refusal with this stable code.
fn is_refusal(e: &CoreError, code: &str) -> bool {
    matches!(e, CoreError::Refused { code: c, .. } if c == code)
}

/// `GET …/status`.
async fn status(inner: &Inner, session: &SessionRow, sha256: &str) -> CoreResult<BlobStatus> {
    let response = inner
        .http
        .get(endpoint(session, sha256, "/status"))
        .bearer_auth(&session.token)
        .send()
        .await
        .map_err(network)?;
    let code = response.status();
    let body = response.bytes().await.map_err(network)?;
    if !code.is_success() {
        return Err(status_error(code, &body));
    }
    serde_json::from_slice(&body).map_err(|e| CoreError::Protocol(format!("blob status: {e}")))
}

/// `PUT …` one chunk.
async fn put_chunk(
    inner: &Inner,
    session: &SessionRow,
    sha256: &str,
    range: ContentRange,
    chunk: Vec<u8>,
) -> CoreResult<BlobStatus> {
    let response = inner
        .http
        .put(endpoint(session, sha256, ""))
        .bearer_auth(&session.token)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_RANGE, range.to_string())
        .body(chunk)
        .send()
        .await
        .map_err(network)?;
    let code = response.status();
    let body = response.bytes().await.map_err(network)?;
    if !code.is_success() {
        return Err(status_error(code, &body));
    }
    serde_json::from_slice(&body).map_err(|e| CoreError::Protocol(format!("blob status: {e}")))
}

/// Sends one blob, from wherever the server's copy ends. Returns the bytes sent.
async fn upload_one(
    inner: &Inner,
    session: &SessionRow,
    sha256: &str,
    bytes: &[u8],
) -> CoreResult<u64> {
    let total = bytes.len() as u64;
    let mut sent = 0u64;
    let mut current = status(inner, session, sha256).await?;
    // Each pass sends a chunk or re-reads the offset; the bound only stops a server that
    // keeps moving the offset from looping for ever.
    let max_passes = 2 * total.div_ceil(CHUNK_BYTES) + 4;
    for _ in 0..max_passes {
        if current.complete {
            return Ok(sent);
        }
        let start = current.received;
        if start >= total {
            return Err(CoreError::Protocol(format!(
                "the server holds {start} bytes of a {total}-byte blob but not all of it"
            )));
        }
        let end = (start + CHUNK_BYTES).min(total);
        let chunk = bytes[start as usize..end as usize].to_vec();
        let range = ContentRange::of(start, end - start, total);
        match put_chunk(inner, session, sha256, range, chunk).await {
            Ok(next) => {
                sent += end - start;
                current = next;
            }
            // Someone else moved it on (another device with the same photo): ask again.
            Err(e) if is_refusal(&e, "offset_mismatch") => {
                current = status(inner, session, sha256).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(CoreError::Protocol(format!(
        "upload of {sha256} did not settle"
    )))
}

/// Sends every pending blob. A blob the server will not take yet (its case's document is
/// not there, or not in this account's scope) stays pending without failing the run;
/// network and server failures end the run (the next one resumes).
pub(crate) async fn upload_pending(
    inner: &Inner,
    session: &SessionRow,
    report: &mut SyncReport,
) -> CoreResult<()> {
    let pending = inner.with_store(|s| photo_queue::pending_uploads(s.conn()))?;
    for upload in pending {
        let case_here =
            inner.with_store(|s| Ok(cases::get(s.conn(), upload.case_id)?.is_some()))?;
        if !case_here {
            tracing::warn!(sha256 = %upload.sha256, case_id = %upload.case_id, "photo of a case no longer on this device: not sent");
            inner.with_store(|s| photo_queue::forget_upload(s.conn(), &upload.sha256))?;
            continue;
        }
        let Some(bytes) = inner.blobs.get(&upload.sha256).map_err(blob_error)? else {
            tracing::error!(sha256 = %upload.sha256, "a queued photo file is missing from the blob area");
            inner.with_store(|s| {
                photo_queue::set_upload_error(s.conn(), &upload.sha256, "本机照片文件缺失")
            })?;
            continue;
        };
        match upload_one(inner, session, &upload.sha256, &bytes).await {
            Ok(sent) => {
                report.bytes_sent += sent;
                let now = inner.clock.now_ms();
                inner.with_store(|s| photo_queue::mark_uploaded(s.conn(), &upload.sha256, now))?;
            }
            Err(e) if is_refusal(&e, "unavailable") => {
                tracing::info!(sha256 = %upload.sha256, case_id = %upload.case_id, "the server does not take this photo yet");
                inner.with_store(|s| {
                    photo_queue::set_upload_error(
                        s.conn(),
                        &upload.sha256,
                        "服务器暂不接收这张照片（个案尚未同步或不在本账号范围内）",
                    )
                })?;
            }
            Err(e) if is_refusal(&e, "hash_mismatch") || is_refusal(&e, "blob_too_large") => {
                tracing::error!(sha256 = %upload.sha256, error = %e, "the server refused a photo file");
                inner.with_store(|s| {
                    photo_queue::set_upload_error(s.conn(), &upload.sha256, "服务器拒收这张照片")
                })?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `GET /api/v1/blobs/{sha256}`, checked and stored in the blob area. `Ok(None)`: the
/// server does not offer it (not uploaded yet, or out of scope).
pub(crate) async fn fetch_blob(
    inner: &Inner,
    session: &SessionRow,
    sha256: &str,
) -> CoreResult<Option<Vec<u8>>> {
    let response = inner
        .http
        .get(endpoint(session, sha256, ""))
        .bearer_auth(&session.token)
        .send()
        .await
        .map_err(network)?;
    let code = response.status();
    let body = response.bytes().await.map_err(network)?;
    if !code.is_success() {
        let e = status_error(code, &body);
        return if is_refusal(&e, "unavailable") {
            Ok(None)
        } else {
            Err(e)
        };
    }
    match inner.blobs.put(sha256, &body) {
        Ok(()) => Ok(Some(body.to_vec())),
        Err(BlobError::HashMismatch { actual, .. }) => Err(CoreError::Protocol(format!(
            "the server sent bytes hashing to {actual} for blob {sha256}"
        ))),
        Err(e) => Err(blob_error(e)),
    }
}

/// Fetches the thumbnails queued from received documents (those not on the server yet
/// stay queued for the next run).
pub(crate) async fn fetch_thumbnails(
    inner: &Inner,
    session: &SessionRow,
    report: &mut SyncReport,
) -> CoreResult<()> {
    let queued = inner.with_store(|s| photo_queue::pending_fetches(s.conn()))?;
    for fetch in queued {
        let case_here = inner.with_store(|s| Ok(cases::get(s.conn(), fetch.case_id)?.is_some()))?;
        if case_here && !inner.blobs.has(&fetch.sha256).map_err(blob_error)? {
            match fetch_blob(inner, session, &fetch.sha256).await {
                Ok(Some(bytes)) => report.bytes_received += bytes.len() as u64,
                Ok(None) => continue,
                Err(CoreError::Protocol(detail)) => {
                    tracing::error!(sha256 = %fetch.sha256, case_id = %fetch.case_id, %detail, "thumbnail not stored");
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        inner.with_store(|s| photo_queue::fetched(s.conn(), &fetch.sha256))?;
    }
    Ok(())
}
