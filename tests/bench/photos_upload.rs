//! Photo transfer benchmark: prints figures, asserts nothing about speed (`cargo bench -p
//! hecha-e2e --bench photos_upload`).
//!
//! - Upload throughput into the server's blob store: 50 app cores (real `hecha-core`, each
//!   on its own SQLite file) each holding a case with 4 photos taken offline sync at once
//!   over HTTP on 127.0.0.1; MB/s of photo blobs received, every blob then checked on the
//!   server's disk against its SHA-256.
//! - Bytes of one complete visit as it travels: the case document (a full schema-2 form,
//!   4 photo references, 3 signatures of 600 points packed by `shared::signature`) plus the
//!   4 photos (full image and thumbnail each, from 12-megapixel camera-like JPEGs through the
//!   photo pipeline). Target ≤ 1.5 MB.
//!
//! The test server runs its HTTP loop on one thread (blocking work on tokio's blocking
//! pool); the machine is shared, so the figures are pessimistic.

use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hecha_core::photos::process_photo;
use hecha_e2e::{FlakyProxy, TestDevice, TestServer};
use hecha_shared::app_api::AddPhotoRequest;
use hecha_shared::case::{
    create_document, ApplicantForm, CaseDoc, CaseForm, ChangeNote, IncomeForm, MemberForm,
};
use hecha_shared::id_number::with_check_digit;
use hecha_shared::photo::PhotoKind;
use hecha_shared::signature::{
    insert_record, pack, Point, SignatureMark, SignatureRecord, SignerRole, Strokes,
};
use hecha_shared::units::PLAN_UNITS;
use hecha_shared::{CaseId, UnitId};
use sha2::{Digest, Sha256};

const DEVICES: usize = 50;
const PHOTOS_PER_DEVICE: usize = 4;

/// A deterministic pseudo-random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// Smooth value noise in 0..1 at a lattice of `cell` pixels.
fn lattice(seed: u32, x: u32, y: u32) -> f32 {
    let mut h = x
        .wrapping_mul(374_761_393)
        .wrapping_add(y.wrapping_mul(668_265_263))
        .wrapping_add(seed.wrapping_mul(2_246_822_519));
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    ((h ^ (h >> 16)) & 0xffff) as f32 / 65535.0
}

fn value_noise(seed: u32, x: u32, y: u32, cell: u32) -> f32 {
    let (cx, cy) = (x / cell, y / cell);
    let (fx, fy) = (
        (x % cell) as f32 / cell as f32,
        (y % cell) as f32 / cell as f32,
    );
    let a = lattice(seed, cx, cy);
    let b = lattice(seed, cx + 1, cy);
    let c = lattice(seed, cx, cy + 1);
    let d = lattice(seed, cx + 1, cy + 1);
    let top = a + (b - a) * fx;
    let bottom = c + (d - c) * fx;
    top + (bottom - top) * fy
}

/// A camera-like scene as a q92 JPEG: sky gradient, textured ground, a house wall with
/// windows and a door, sensor noise. Distinct per `seed`.
fn scene(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut rng = Rng(u64::from(seed) * 7919 + 1);
    let horizon = height * 2 / 5;
    let (wall_l, wall_r) = (width / 5 + seed % 97, width * 3 / 4);
    let wall_top = height / 4;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let noise = (rng.next() % 13) as f32 - 6.0;
        let texture = value_noise(seed, x, y, 64) * 0.6
            + value_noise(seed + 1, x, y, 16) * 0.3
            + value_noise(seed + 2, x, y, 4) * 0.1;
        let (r, g, b) = if x >= wall_l && x < wall_r && y >= wall_top && y < height * 9 / 10 {
            let window = (x - wall_l) % 240 > 60
                && (x - wall_l) % 240 < 180
                && (y - wall_top) % 260 > 70
                && (y - wall_top) % 260 < 190;
            if window {
                (
                    40.0 + texture * 30.0,
                    60.0 + texture * 30.0,
                    80.0 + texture * 40.0,
                )
            } else {
                (
                    170.0 + texture * 50.0,
                    150.0 + texture * 45.0,
                    120.0 + texture * 40.0,
                )
            }
        } else if y < horizon {
            let t = y as f32 / horizon as f32;
            (
                110.0 + 80.0 * t + texture * 15.0,
                150.0 + 60.0 * t + texture * 15.0,
                220.0 + 20.0 * t,
            )
        } else {
            (
                90.0 + texture * 90.0,
                80.0 + texture * 70.0,
                50.0 + texture * 40.0,
            )
        };
        let px = |v: f32| (v + noise).clamp(0.0, 255.0) as u8;
        image::Rgb([px(r), px(g), px(b)])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .expect("encode a scene");
    out
}

fn id_number(n: usize) -> String {
    let first17 = format!(
        "6402021960{:02}{:02}{:03}",
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    with_check_digit(&first17).expect("fixture id").to_string()
}

/// A complete visit's form: applicant, three members, income, assets, housing, hardship,
/// assistance, narrative, conclusion, visit times and position.
fn full_form(n: usize) -> CaseForm {
    let member = |name: &str, relation: &str, k: usize| MemberForm {
        name: name.into(),
        relation: relation.into(),
        id_number: id_number(n * 10 + k),
        health: "chronic".into(),
        labour: "partial".into(),
        schooling: "graduated".into(),
        marital: "married".into(),
        employment: "务农，农闲时打零工".into(),
        ..Default::default()
    };
    let mut form = CaseForm {
        applicant: ApplicantForm {
            name: format!("王秀兰{n}"),
            id_number: id_number(n),
            phone: "13895270001".into(),
            registered_address: "宁夏石嘴山市大武口区朝阳街道幸福里社区3栋2单元501".into(),
            address: "宁夏石嘴山市大武口区朝阳街道幸福里社区3栋2单元501".into(),
            community: "幸福里社区".into(),
            area: "urban".into(),
        },
        members: vec![
            member("李建国", "spouse", 1),
            member("李小明", "child", 2),
            member("李桂芝", "parent", 3),
        ],
        income: vec![
            IncomeForm {
                category: "wages".into(),
                period: "monthly".into(),
                amount_fen: 180_000,
                note: "小区保洁".into(),
                ..Default::default()
            },
            IncomeForm {
                category: "transfer".into(),
                period: "annual".into(),
                amount_fen: 360_000,
                note: "养老金".into(),
                ..Default::default()
            },
        ],
        hardship: vec!["illness".into(), "disability".into()],
        assistance: vec!["dibao".into(), "medical".into()],
        narrative: "申请人丈夫患慢性病多年，长期服药，家庭主要收入为申请人保洁工资；\
                    子女在读，老人无劳动能力。入户核实住房为自有旧房，家具陈旧。"
            .repeat(2),
        ..Default::default()
    };
    form.housing.kind = "owned".into();
    form.housing.area_m2x100 = 6_250;
    form.housing.condition = "poor".into();
    form.assets.deposits_fen = 820_000;
    form.expenses.medical_fen_annual = 1_200_000;
    form.conclusion.opinion = "eligible".into();
    form.conclusion.text = "经入户核查，家庭人均收入低于当地低保标准，建议纳入。".into();
    form.visit.started_at = 1_700_000_000_000;
    form.visit.ended_at = 1_700_002_400_000;
    form.visit.gps_status = "ok".into();
    form.visit.lat_e6 = 39_015_123;
    form.visit.lon_e6 = 106_384_456;
    form.visit.accuracy_m = 12;
    form
}

/// A handwritten-looking signature of 600 points: 6 strokes of 100 samples, 8 ms apart,
/// with pressure.
fn signature_strokes(seed: u32) -> Strokes {
    let mut rng = Rng(u64::from(seed) + 99);
    let mut t = 0u32;
    let strokes = (0..6)
        .map(|s| {
            let x0 = 6_000.0 + 9_000.0 * s as f32;
            (0..100)
                .map(|i| {
                    let a = i as f32 / 99.0;
                    let wobble = (rng.next() % 120) as f32 - 60.0;
                    let x = x0 + 8_000.0 * a + 2_500.0 * (a * 9.0 + s as f32).sin() + wobble;
                    let y = 32_000.0 + 14_000.0 * (a * 6.3 + s as f32 * 1.7).sin() + wobble;
                    t += 8 + rng.next() % 3;
                    Point {
                        x: x.clamp(0.0, 65_535.0) as u16,
                        y: y.clamp(0.0, 65_535.0) as u16,
                        t,
                        pressure: Some((120 + rng.next() % 60) as u8),
                    }
                })
                .collect()
        })
        .collect();
    t += 150;
    let _ = t;
    Strokes::new(strokes).expect("valid strokes")
}

/// The first sync message of a document the server has never seen: all of it.
fn first_message(doc: &Automerge) -> Vec<u8> {
    let mut state = State::new();
    let nothing = Automerge::new()
        .generate_sync_message(&mut State::new())
        .expect("a first message");
    let mut scratch = doc.clone();
    scratch
        .receive_sync_message(&mut state, nothing)
        .expect("receive");
    scratch
        .generate_sync_message(&mut state)
        .expect("a message")
        .encode()
}

fn photo_request(case_id: CaseId, kind: PhotoKind, bytes: &[u8]) -> AddPhotoRequest {
    AddPhotoRequest {
        case_id,
        kind: kind.code().into(),
        file_name: "IMG.jpg".into(),
        data_base64: STANDARD.encode(bytes),
    }
}

fn verifiers() -> Vec<String> {
    PLAN_UNITS
        .iter()
        .flat_map(|(code, _, n)| (1..=*n).map(move |i| format!("{code}-v{i}")))
        .collect()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

async fn upload_throughput() {
    let server = TestServer::start();
    let accounts = verifiers();
    let mut devices = Vec::new();
    let t = Instant::now();
    for i in 0..DEVICES {
        let device = TestDevice::new();
        device
            .enrol(&server.url(), &accounts[i % accounts.len()])
            .await;
        devices.push(device);
    }
    let enrol_time = t.elapsed();

    // Each device: a case (synced), then 4 photos taken offline.
    let t = Instant::now();
    let mut blobs: Vec<String> = Vec::new();
    let mut blob_bytes = 0u64;
    for (i, device) in devices.iter().enumerate() {
        let id = device.core.save_case(full_form(i)).expect("save");
        device.core.sync_now().await.expect("case to the server");
        for k in 0..PHOTOS_PER_DEVICE {
            let jpeg = scene(1600, 1200, (i * PHOTOS_PER_DEVICE + k) as u32);
            let view = device
                .core
                .add_photo(photo_request(id, PhotoKind::ALL[k], &jpeg))
                .expect("add photo");
            for name in [view.sha256, view.thumb_sha256] {
                let path = device.data_dir().join("blobs").join(&name[..2]).join(&name);
                blob_bytes += std::fs::metadata(path).expect("local blob").len();
                blobs.push(name);
            }
        }
    }
    let capture_time = t.elapsed();

    let t = Instant::now();
    let handles: Vec<_> = devices
        .iter()
        .map(|d| {
            let core = d.core.clone();
            tokio::spawn(async move { core.sync_now().await })
        })
        .collect();
    let mut sent = 0u64;
    for handle in handles {
        let report = handle.await.expect("join").expect("sync with photos");
        sent += report.bytes_sent;
    }
    let upload_time = t.elapsed();
    for d in &devices {
        assert_eq!(d.core.sync_status().unwrap().photos_pending, 0);
    }

    // Every blob is on the server's disk under its own hash.
    let t = Instant::now();
    for name in &blobs {
        let path = server.data_dir().join("blobs").join(&name[..2]).join(name);
        let bytes = std::fs::read(&path).expect("blob on the server");
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), name);
    }
    let verify_time = t.elapsed();

    println!("--- photo upload: {DEVICES} devices at once, {PHOTOS_PER_DEVICE} photos each ---");
    println!(
        "setup: enrol {DEVICES} devices {:.1?}; capture {} photos through the pipeline {:.1?}",
        enrol_time,
        DEVICES * PHOTOS_PER_DEVICE,
        capture_time
    );
    println!(
        "{} blobs (full + thumbnail), {:.2} MB; {DEVICES} concurrent sync runs took {:.2?} \
         ({:.2} MB sent incl. the small document deltas)",
        blobs.len(),
        mb(blob_bytes),
        upload_time,
        mb(sent)
    );
    println!(
        "throughput into the blob store (SHA-256 verified by the server): {:.1} MB/s, {:.0} photos/s",
        mb(blob_bytes) / upload_time.as_secs_f64().max(1e-9),
        (DEVICES * PHOTOS_PER_DEVICE) as f64 / upload_time.as_secs_f64().max(1e-9)
    );
    println!(
        "re-hashing all {} blobs on the server's disk afterwards: {:.2?}, all match",
        blobs.len(),
        verify_time
    );
}

async fn visit_bytes() {
    // The photos: 12-megapixel camera-like JPEGs through the pipeline.
    let kinds = [
        PhotoKind::HouseOutside,
        PhotoKind::HouseInside,
        PhotoKind::Family,
        PhotoKind::IdCard,
    ];
    let mut processed = Vec::new();
    let mut pipeline_times = Vec::new();
    let mut sources = Vec::new();
    for (k, kind) in kinds.into_iter().enumerate() {
        let jpeg = scene(4000, 3000, 1000 + k as u32);
        let t = Instant::now();
        processed.push(process_photo(&jpeg, kind).expect("pipeline"));
        pipeline_times.push(t.elapsed());
        sources.push(jpeg);
    }
    let photo_bytes: u64 = processed
        .iter()
        .map(|p| (p.full.len() + p.thumb.len()) as u64)
        .sum();

    // The document: the full form, 4 photo references, 3 signatures of 600 points.
    let id = CaseId::from_random_bytes([7; 16]);
    let mut case = CaseDoc::new_case(id, &UnitId::new("chaoyang").unwrap(), 1_700_000_000_000);
    let mut n = 0u128;
    full_form(1).apply_to(&mut case, 1_700_000_000_000, || {
        n += 1;
        hecha_shared::MemberId::from_random_bytes(n.to_be_bytes())
    });
    for (k, p) in processed.iter().enumerate() {
        let mut r = p.photo_ref(1_700_000_100_000 + k as i64);
        r.added_by = "5f0c2a8e-3f51-4b7e-9a1d-2c4e6f8a0b1c".into();
        case.photos.insert(p.sha256.clone(), r);
    }
    let note = ChangeNote {
        action: "save".into(),
        author: "朝阳核查员1".into(),
        device: "4b1d0c9e-7a2f-4e3b-8c5d-6f7a8b9c0d1e".into(),
    };
    let mut doc = create_document(ActorId::from([1u8; 16]), &case, &note, 1_700_000_000_000)
        .expect("document");
    let without_signatures = first_message(&doc).len() as u64;
    let mut packed_sizes = Vec::new();
    let signatures = {
        let mut tx = doc.transaction();
        let map = tx
            .put_object(ROOT, "signatures", ObjType::Map)
            .expect("signatures map");
        tx.commit();
        map
    };
    for (s, role) in [
        SignerRole::Investigator1,
        SignerRole::Investigator2,
        SignerRole::Applicant,
    ]
    .into_iter()
    .enumerate()
    {
        let strokes = signature_strokes(s as u32);
        assert_eq!(strokes.point_count(), 600);
        let packed = pack(&strokes);
        packed_sizes.push(packed.len());
        let record = SignatureRecord {
            role,
            signer_name: ["朝阳核查员1", "朝阳核查员2", "王秀兰1"][s].into(),
            signer_user: None,
            device: None,
            signed_at_ms: 1_700_002_000_000 + s as i64 * 60_000,
            content_hash_hex: "ab".repeat(32),
            strokes: packed,
            mark: SignatureMark::Drawn,
        };
        let mut tx = doc.transaction();
        insert_record(&mut tx, &signatures, &format!("sig-{s}"), &record).expect("record");
        tx.commit();
    }
    let document = first_message(&doc).len() as u64;
    let total = document + photo_bytes;

    // The same document and photos (without signatures: the app's signing lands
    // separately) through a real device and server, counted on the wire.
    let server = TestServer::start();
    let proxy = FlakyProxy::start(server.addr());
    let device = TestDevice::new();
    device.enrol(&proxy.url(), "chaoyang-v1").await;
    let case_id = device.core.save_case(full_form(2)).expect("save");
    for (k, source) in sources.iter().enumerate() {
        device
            .core
            .add_photo(photo_request(case_id, kinds[k], source))
            .expect("photo");
    }
    let before = proxy
        .stats()
        .bytes_up
        .load(std::sync::atomic::Ordering::SeqCst);
    let report = device.core.sync_now().await.expect("sync the visit");
    let wire = proxy
        .stats()
        .bytes_up
        .load(std::sync::atomic::Ordering::SeqCst)
        - before;

    println!("--- one complete visit as it travels ---");
    for (p, time) in processed.iter().zip(&pipeline_times) {
        println!(
            "photo {:<14} 4000×3000 source {:>5} KB → full {}×{} {:>4} KB + thumb {:>3} KB ({:.0?})",
            p.kind.code(),
            sources[processed.iter().position(|q| q.sha256 == p.sha256).unwrap_or(0)].len() / 1000,
            p.width,
            p.height,
            p.full.len() / 1000,
            p.thumb.len() / 1000,
            time
        );
    }
    println!(
        "signatures: 3 × 600 points packed to {:?} bytes",
        packed_sizes
    );
    println!(
        "document (full form + 4 photo refs + 3 signatures), first sync message: {:.1} KB \
         ({:.1} KB without the signatures)",
        document as f64 / 1000.0,
        without_signatures as f64 / 1000.0
    );
    println!(
        "visit total: document {:.1} KB + photos {:.1} KB = {:.3} MB (target ≤ 1.5 MB)",
        document as f64 / 1000.0,
        photo_bytes as f64 / 1000.0,
        mb(total)
    );
    println!(
        "through a real device and server: {:.3} MB up on the wire incl. HTTP (report: {:.3} MB \
         payload, {} rounds)",
        mb(wire),
        mb(report.bytes_sent),
        report.rounds
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let t = Instant::now();
        visit_bytes().await;
        upload_throughput().await;
        let _ = Duration::ZERO;
        println!("(benchmark wall time {:.1?})", t.elapsed());
    });
}
