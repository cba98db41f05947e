//! A case's photos as user actions: adding one (pipeline, blob area, one Automerge commit
//! with the dirty flag and the upload queue in one SQLite transaction), removing one (a
//! `removed` flag, never a deletion), and the views and data URLs the UI shows.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hecha_shared::app_api::{AddPhotoRequest, PhotoView};
use hecha_shared::blob::is_sha256_hex;
use hecha_shared::case::{self, CaseDoc, ChangeNote, FieldErrors};
use hecha_shared::photo::{PhotoKind, PhotoRef};
use hecha_shared::CaseId;

use super::{process_photo, PhotoError};
use crate::blobs::{BlobError, BlobStore};
use crate::docs;
use crate::error::{CoreError, CoreResult};
use crate::store::photo_queue::{self, Role};
use crate::store::{cases, session, Store};
use crate::Inner;

/// `data:` URL of a JPEG blob.
pub(crate) fn jpeg_data_url(bytes: &[u8]) -> String {
    format!("data:image/jpeg;base64,{}", STANDARD.encode(bytes))
}

pub(crate) fn blob_error(e: BlobError) -> CoreError {
    match e {
        BlobError::Io(io) => CoreError::Io(io),
        other => CoreError::Corrupt(other.to_string()),
    }
}

fn field_error(field: &str, message: &str) -> CoreError {
    let mut errors = FieldErrors::default();
    errors.0.insert(field.into(), message.into());
    CoreError::Validation(errors)
}

/// The bytes of an uploaded file: standard base64, with or without a `data:` URL prefix.
fn decode_file(data: &str) -> Result<Vec<u8>, PhotoError> {
    let payload = match data.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => data,
    };
    let cleaned: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| PhotoError::Corrupt(format!("base64: {e}")))?;
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    Ok(bytes)
}

fn note(store: &Store, action: &str) -> CoreResult<(ChangeNote, String)> {
    let s = session::get(store.conn())?.ok_or(CoreError::NotEnrolled)?;
    Ok((
        ChangeNote {
            action: action.into(),
            author: s.display_name.clone(),
            device: s.device_id.to_string(),
        },
        s.user_id.to_string(),
    ))
}

fn load_case(
    store: &Store,
    actor: &automerge::ActorId,
    id: CaseId,
) -> CoreResult<(automerge::Automerge, CaseDoc)> {
    let record = cases::get(store.conn(), id)?
        .filter(|r| !r.placeholder)
        .ok_or(CoreError::CaseNotFound(id))?;
    let doc = docs::load(&record.doc, actor)?;
    let c = case::read_case(&doc)?;
    Ok((doc, c))
}

/// Adds a photo to a saved case. The pipeline runs before anything is written: a bad
/// file changes nothing (code `photo`, Chinese message). The same photo twice is one.
pub(crate) fn add_photo(inner: &Inner, req: AddPhotoRequest) -> CoreResult<PhotoView> {
    let kind = PhotoKind::from_code(req.kind.trim())
        .ok_or_else(|| field_error("kind", "请选择照片类别"))?;
    let actor = inner.actor()?;
    // Refuse early (not enrolled, no such case) before the costly pipeline.
    inner.with_store(|s| {
        note(s, "add_photo")?;
        load_case(s, &actor, req.case_id).map(|_| ())
    })?;
    let bytes = decode_file(&req.data_base64).map_err(CoreError::Photo)?;
    let processed = process_photo(&bytes, kind).map_err(|e| {
        tracing::info!(file = %req.file_name, error = %e, "photo refused");
        CoreError::Photo(e)
    })?;
    drop(bytes);
    // Files first: a crash after this leaves an unreferenced blob, never a reference to a
    // missing one.
    inner
        .blobs
        .put(&processed.thumb_sha256, &processed.thumb)
        .map_err(blob_error)?;
    inner
        .blobs
        .put(&processed.sha256, &processed.full)
        .map_err(blob_error)?;
    let now = inner.clock.now_ms();
    inner.with_store(|s| {
        let (mut doc, mut c) = load_case(s, &actor, req.case_id)?;
        let (note, user_id) = note(s, "add_photo")?;
        let entry = c.photos.entry(processed.sha256.clone()).or_insert_with(|| {
            let mut photo = processed.photo_ref(now);
            photo.added_by = user_id;
            photo
        });
        entry.removed = false;
        let photo = entry.clone();
        let tx = s.transaction()?;
        if case::write_case(&mut doc, &c, &note, now)?.is_some() {
            cases::save_local(&tx, req.case_id, &doc.save(), &docs::summarise(&doc, now))?;
        }
        for (sha, role, size) in [
            (&processed.thumb_sha256, Role::Thumb, processed.thumb.len()),
            (&processed.sha256, Role::Full, processed.full.len()),
        ] {
            photo_queue::queue_upload(&tx, sha, &processed.sha256, req.case_id, role, size, now)?;
        }
        tx.commit()?;
        let mut view = [view_of(&photo)];
        fill_local(&inner.blobs, &mut view);
        let [view] = view;
        Ok(view)
    })
}

/// Marks a photo of the case removed (one commit; the files stay, as evidence in the
/// case's history).
pub(crate) fn remove_photo(
    store: &mut Store,
    actor: &automerge::ActorId,
    now_ms: i64,
    case_id: CaseId,
    sha256: &str,
) -> CoreResult<()> {
    let (note, _) = note(store, "remove_photo")?;
    let (mut doc, mut c) = load_case(store, actor, case_id)?;
    let Some(photo) = c.photos.get_mut(sha256) else {
        return Err(field_error("photos", "这张照片不在本个案中"));
    };
    if photo.removed {
        return Ok(());
    }
    photo.removed = true;
    if case::write_case(&mut doc, &c, &note, now_ms)?.is_some() {
        let tx = store.transaction()?;
        cases::save_local(&tx, case_id, &doc.save(), &docs::summarise(&doc, now_ms))?;
        tx.commit()?;
    }
    Ok(())
}

/// What the UI shows of one photo, from the document alone (see [`fill_local`]).
pub(crate) fn view_of(photo: &PhotoRef) -> PhotoView {
    PhotoView {
        sha256: photo.sha256.clone(),
        thumb_sha256: photo.thumb_sha256.clone(),
        kind: photo.kind.clone(),
        kind_label_zh: photo
            .photo_kind()
            .map_or_else(|| photo.kind.clone(), |k| k.label_zh().to_string()),
        width: photo.width,
        height: photo.height,
        taken_at_ms: photo.taken_at,
        captured_at: photo.captured_at.clone(),
        lat_e6: photo.gps_lat_e6,
        lon_e6: photo.gps_lon_e6,
        thumb_data_url: None,
        local_full: false,
    }
}

/// The case's photos, removed ones left out, in the order they were added.
pub fn views(c: &CaseDoc) -> Vec<PhotoView> {
    c.active_photos().into_iter().map(view_of).collect()
}

/// Fills in what only the blob area knows: the thumbnail (as a data URL) and whether the
/// full image is here.
pub(crate) fn fill_local(blobs: &BlobStore, views: &mut [PhotoView]) {
    for view in views {
        view.thumb_data_url = blobs
            .get(&view.thumb_sha256)
            .ok()
            .flatten()
            .map(|b| jpeg_data_url(&b));
        view.local_full = blobs.has(&view.sha256).unwrap_or(false);
    }
}

/// A blob held here as a data URL (`None`: not on this device, or not a blob name).
pub(crate) fn local_data_url(blobs: &BlobStore, sha256: &str) -> CoreResult<Option<String>> {
    if !is_sha256_hex(sha256) {
        return Ok(None);
    }
    Ok(blobs
        .get(sha256)
        .map_err(blob_error)?
        .map(|b| jpeg_data_url(&b)))
}

/// A photo's full image: from this device, or fetched from the server on demand.
pub(crate) async fn photo_full(inner: &Inner, sha256: &str) -> CoreResult<String> {
    if !is_sha256_hex(sha256) {
        return Err(field_error("sha256", "照片编号格式不正确"));
    }
    if let Some(url) = local_data_url(&inner.blobs, sha256)? {
        return Ok(url);
    }
    let session = inner
        .with_store(|s| session::get(s.conn()))?
        .ok_or(CoreError::NotEnrolled)?;
    match crate::sync_client::blobs::fetch_blob(inner, &session, sha256).await? {
        Some(bytes) => Ok(jpeg_data_url(&bytes)),
        None => Err(CoreError::PhotoUnavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_arrive_as_plain_base64_or_as_data_urls() {
        assert_eq!(decode_file("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(
            decode_file("data:image/jpeg;base64,aGVs\nbG8=").unwrap(),
            b"hello"
        );
        assert!(matches!(decode_file("***"), Err(PhotoError::Corrupt(_))));
        assert_eq!(decode_file(""), Err(PhotoError::Empty));
    }
}
