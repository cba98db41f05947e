//! End-to-end photo scenarios: real app cores on temp dirs, a real server on 127.0.0.1,
//! sometimes a proxy that refuses or cuts uploads. What is asserted is what people would
//! check: the photos a case shows on each device, the sync indicator's count of photos
//! still to send, the files the server holds (and that they hash to their names), and
//! how many bytes went up the wire after a cut.

use std::sync::atomic::Ordering;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hecha_e2e::{FlakyProxy, ProxyMode, TestDevice, TestServer};
use hecha_shared::app_api::{AddPhotoRequest, ErrorCode, PhotoView};
use hecha_shared::blob::{BlobStatus, CHUNK_BYTES};
use hecha_shared::case::{ApplicantForm, CaseForm};
use hecha_shared::id_number::with_check_digit;
use hecha_shared::CaseId;
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A camera-like JPEG: noisy (so it stays large after the pipeline's re-encoding), with
/// gradients so it is not pure noise. Distinct per `seed`.
fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (state >> 24) as u8;
        image::Rgb([
            n,
            ((x * 255 / width) as u8) ^ (n / 4),
            ((y * 255 / height) as u8).wrapping_add(n / 8),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode a fixture JPEG");
    out
}

fn household(name: &str) -> CaseForm {
    let id = with_check_digit("64020219650101123").expect("fixture id");
    CaseForm {
        applicant: ApplicantForm {
            name: name.into(),
            id_number: id.to_string(),
            address: "大武口区朝阳街道幸福里3号".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn photo(case_id: CaseId, kind: &str, bytes: &[u8]) -> AddPhotoRequest {
    AddPhotoRequest {
        case_id,
        kind: kind.into(),
        file_name: format!("{kind}.jpg"),
        data_base64: STANDARD.encode(bytes),
    }
}

/// The bytes of a `data:image/jpeg;base64,…` URL.
fn bytes_of(data_url: &str) -> Vec<u8> {
    let payload = data_url
        .strip_prefix("data:image/jpeg;base64,")
        .unwrap_or_else(|| {
            panic!(
                "not a JPEG data URL: {}",
                &data_url[..40.min(data_url.len())]
            )
        });
    STANDARD.decode(payload).expect("base64")
}

/// The file the server keeps for a blob, if any.
fn server_blob(server: &TestServer, sha256: &str) -> Option<Vec<u8>> {
    std::fs::read(
        server
            .data_dir()
            .join("blobs")
            .join(&sha256[..2])
            .join(sha256),
    )
    .ok()
}

fn blobs_of(p: &PhotoView) -> [String; 2] {
    [p.sha256.clone(), p.thumb_sha256.clone()]
}

/// Device A takes two photos with the network off; the indicator counts them; once the
/// network is back one sync sends them; the server holds every blob under its hash. A
/// supervisor's new device gets the thumbnails with its sync and the full image only on
/// demand; a removal reaches it too; another street's supervisor gets nothing.
#[tokio::test]
async fn photos_taken_offline_reach_the_server_and_a_supervisor_sees_thumbnails_then_full() {
    let server = TestServer::start();
    let proxy = FlakyProxy::start(server.addr());
    let a = TestDevice::new();
    a.enrol(&proxy.url(), "chaoyang-v1").await;
    proxy.set_mode(ProxyMode::Refuse);

    let id = a.core.save_case(household("王秀兰")).expect("save offline");
    let outside = a
        .core
        .add_photo(photo(id, "house_outside", &jpeg(2000, 1500, 1)))
        .expect("first photo");
    let card = a
        .core
        .add_photo(photo(id, "id_card", &jpeg(900, 600, 2)))
        .expect("second photo");
    assert_eq!((outside.width, outside.height), (1600, 1200));
    assert_eq!(outside.kind_label_zh, "房屋外景");
    let shown = a.core.get_case(id).unwrap().photos;
    assert_eq!(shown.len(), 2);
    assert!(shown
        .iter()
        .all(|p| p.local_full && p.thumb_data_url.is_some()));
    assert_eq!(a.core.sync_status().unwrap().photos_pending, 2);

    let offline = a.core.sync_now().await.unwrap_err();
    assert_eq!(offline.code, ErrorCode::Network);
    assert_eq!(a.core.sync_status().unwrap().photos_pending, 2);

    proxy.set_mode(ProxyMode::Forward);
    a.core.sync_now().await.expect("sync once back online");
    let status = a.core.sync_status().unwrap();
    assert_eq!((status.unsynced_cases, status.photos_pending), (0, 0));
    for name in blobs_of(&outside).iter().chain(blobs_of(&card).iter()) {
        let held = server_blob(&server, name).unwrap_or_else(|| panic!("server lacks {name}"));
        assert_eq!(&sha(&held), name, "the server's file hashes to its name");
    }

    // The supervisor's tablet: thumbnails come with the sync, full images do not.
    let b = TestDevice::new();
    b.enrol(&server.url(), "chaoyang-sup").await;
    b.core.sync_now().await.expect("supervisor sync");
    let seen = b
        .core
        .get_case(id)
        .expect("case on the supervisor's device")
        .photos;
    assert_eq!(seen.len(), 2);
    for p in &seen {
        let thumb = bytes_of(
            p.thumb_data_url
                .as_deref()
                .expect("thumbnail fetched eagerly"),
        );
        assert_eq!(sha(&thumb), p.thumb_sha256);
        assert!(!p.local_full, "full images are fetched on demand only");
    }
    assert_eq!(
        b.core.photo_thumbnail(&outside.thumb_sha256).unwrap(),
        seen.iter()
            .find(|p| p.sha256 == outside.sha256)
            .and_then(|p| p.thumb_data_url.clone())
    );
    let full = bytes_of(
        &b.core
            .photo_full(&outside.sha256)
            .await
            .expect("full on demand"),
    );
    assert_eq!(sha(&full), outside.sha256);
    let seen = b.core.get_case(id).unwrap().photos;
    assert!(seen
        .iter()
        .any(|p| p.sha256 == outside.sha256 && p.local_full));
    assert!(seen
        .iter()
        .any(|p| p.sha256 == card.sha256 && !p.local_full));

    // A removal is a flag that syncs like any edit.
    a.core.remove_photo(id, &card.sha256).expect("remove");
    assert_eq!(a.core.get_case(id).unwrap().photos.len(), 1);
    a.core.sync_now().await.unwrap();
    b.core.sync_now().await.unwrap();
    let seen = b.core.get_case(id).unwrap().photos;
    assert_eq!(
        seen.iter().map(|p| p.sha256.clone()).collect::<Vec<_>>(),
        vec![outside.sha256.clone()]
    );

    // Another street's supervisor cannot fetch the photo even knowing its hash.
    let other = TestDevice::new();
    other.enrol(&server.url(), "xinghai-sup").await;
    let refused = other.core.photo_full(&outside.sha256).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
}

/// An upload cut off mid-way (the link drops inside a chunk) resumes at the next sync
/// from what the server holds: only the rest goes up the wire.
#[tokio::test]
async fn an_upload_cut_mid_way_resumes_without_resending_what_arrived() {
    let server = TestServer::start();
    let proxy = FlakyProxy::start(server.addr());
    let a = TestDevice::new();
    a.enrol(&proxy.url(), "chaoyang-v1").await;
    let id = a.core.save_case(household("李建国")).unwrap();
    a.core
        .sync_now()
        .await
        .expect("the case reaches the server");

    let big = a
        .core
        .add_photo(photo(id, "house_inside", &jpeg(1600, 1200, 3)))
        .expect("photo");
    let full = bytes_of(&a.core.photo_full(&big.sha256).await.unwrap());
    let total = full.len() as u64;
    assert!(
        total > 3 * CHUNK_BYTES,
        "the fixture must take several chunks: {total} bytes"
    );

    // The link drops after 600 kB have gone up: inside the full image's third chunk.
    proxy.set_mode(ProxyMode::CutRequestsAfter(600_000));
    let cut = a.core.sync_now().await.unwrap_err();
    assert_eq!(cut.code, ErrorCode::Network, "{cut:?}");
    assert!(proxy.stats().cuts.load(Ordering::SeqCst) >= 1);
    assert_eq!(a.core.sync_status().unwrap().photos_pending, 1);

    let token = server.login("chaoyang-v1").await.token;
    let status: BlobStatus = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/blobs/{}/status",
            server.url(),
            big.sha256
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let held = status.received;
    assert!(!status.complete);
    assert!(
        held >= CHUNK_BYTES && held < total && held.is_multiple_of(CHUNK_BYTES),
        "the server keeps the whole chunks that arrived: {held} of {total}"
    );
    assert!(server_blob(&server, &big.sha256).is_none());

    proxy.set_mode(ProxyMode::Forward);
    let before = proxy.stats().bytes_up.load(Ordering::SeqCst);
    a.core.sync_now().await.expect("resume");
    let sent = proxy.stats().bytes_up.load(Ordering::SeqCst) - before;
    let rest = total - held;
    assert!(sent >= rest, "{sent} bytes sent, {rest} were missing");
    assert!(
        sent < rest + 32 * 1024,
        "only the missing {rest} bytes (plus requests' headers) go up again, not {sent}"
    );
    assert_eq!(a.core.sync_status().unwrap().photos_pending, 0);
    assert_eq!(server_blob(&server, &big.sha256), Some(full));

    // A further sync sends no photo bytes at all.
    let before = proxy.stats().bytes_up.load(Ordering::SeqCst);
    a.core.sync_now().await.unwrap();
    assert!(proxy.stats().bytes_up.load(Ordering::SeqCst) - before < 8 * 1024);
}

/// Damaged or hostile files get the typed error with a Chinese message; the case, the
/// upload queue and the blob area are left exactly as they were.
#[tokio::test]
async fn a_bad_photo_file_gets_the_typed_error_and_leaves_the_case_untouched() {
    let server = TestServer::start();
    let a = TestDevice::new();
    a.enrol(&server.url(), "chaoyang-v1").await;
    let id = a.core.save_case(household("张桂英")).unwrap();
    a.core.sync_now().await.unwrap();
    let before = a.core.get_case(id).unwrap();

    let good = jpeg(640, 480, 4);
    let truncated = good[..good.len() / 2].to_vec();
    // The same JPEG whose frame header claims 60000×60000 pixels (a decompression bomb).
    let mut huge = good.clone();
    let sof = huge
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("a baseline frame header");
    huge[sof + 5..sof + 9].copy_from_slice(&[0xea, 0x60, 0xea, 0x60]);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated JPEG", truncated, "损坏"),
        (
            "not an image",
            "这不是照片，是一段文字".as_bytes().to_vec(),
            "不是图片",
        ),
        ("absurd dimensions", huge, "尺寸过大"),
        ("empty", Vec::new(), "空"),
    ];
    for (what, bytes, words) in cases {
        let err = a
            .core
            .add_photo(photo(id, "medical_record", &bytes))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Photo, "{what}: {err:?}");
        assert!(err.message.contains(words), "{what}: {}", err.message);
    }
    // An unknown kind is a field error, not a photo error.
    let err = a.core.add_photo(photo(id, "selfie", &good)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);

    assert_eq!(a.core.get_case(id).unwrap(), before);
    let status = a.core.sync_status().unwrap();
    assert_eq!((status.unsynced_cases, status.photos_pending), (0, 0));
    assert!(!a.data_dir().join("blobs").exists(), "no file was kept");

    // The form is intact and a good photo still goes in.
    let ok = a
        .core
        .add_photo(photo(id, "medical_record", &good))
        .expect("good photo");
    assert_eq!(ok.kind_label_zh, "病历");
    assert_eq!(a.core.get_case(id).unwrap().form, before.form);
}
