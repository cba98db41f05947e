//! Photo pipeline tests on fixtures made here: JPEGs encoded in the test with an EXIF APP1
//! segment whose TIFF/IFD bytes are written by hand, PNG headers patched into bombs, and
//! truncated or scrambled files.

use std::time::{Duration, Instant};

use hecha_shared::photo::PhotoKind;
use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use rand::{Rng, SeedableRng};

use super::pipeline::{jpeg_is_complete, sha256_hex};
use super::*;

// ---------- fixtures ----------

/// A TIFF value as written into an IFD entry.
enum V {
    Short(u16),
    Long(u32),
    Ascii(&'static str),
    Rational(Vec<(u32, u32)>),
}

impl V {
    fn type_and_count(&self) -> (u16, u32) {
        match self {
            V::Short(_) => (3, 1),
            V::Long(_) => (4, 1),
            V::Ascii(s) => (2, s.len() as u32 + 1),
            V::Rational(r) => (5, r.len() as u32),
        }
    }

    fn bytes(&self, be: bool) -> Vec<u8> {
        let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        match self {
            V::Short(v) => u16b(*v).to_vec(),
            V::Long(v) => u32b(*v).to_vec(),
            V::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                b
            }
            V::Rational(r) => r
                .iter()
                .flat_map(|(n, d)| [u32b(*n), u32b(*d)].concat())
                .collect(),
        }
    }
}

/// Degrees, minutes, seconds as rationals.
type Dms = Vec<(u32, u32)>;
/// Latitude, its ref (N/S), longitude, its ref (E/W).
type GpsExif = (Dms, &'static str, Dms, &'static str);

/// Evidence to write into a test photo's EXIF.
#[derive(Default)]
struct Exif {
    orientation: Option<u16>,
    date_time_original: Option<&'static str>,
    offset_time_original: Option<&'static str>,
    gps: Option<GpsExif>,
    big_endian: bool,
}

/// Length of an IFD (count, entries, next pointer) followed by its out-of-line values.
fn ifd_len(entries: &[(u16, V)], be: bool) -> usize {
    let data: usize = entries
        .iter()
        .map(|(_, v)| v.bytes(be).len())
        .filter(|&n| n > 4)
        .map(|n| n + n % 2)
        .sum();
    2 + 12 * entries.len() + 4 + data
}

/// An IFD placed at `at` (offset from the TIFF header), its large values right after it.
fn ifd(entries: &[(u16, V)], at: usize, be: bool) -> Vec<u8> {
    let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut head = u16b(entries.len() as u16).to_vec();
    let mut data = Vec::new();
    let data_at = at + 2 + 12 * entries.len() + 4;
    for (tag, value) in entries {
        let (ty, count) = value.type_and_count();
        head.extend(u16b(*tag));
        head.extend(u16b(ty));
        head.extend(u32b(count));
        let bytes = value.bytes(be);
        if bytes.len() <= 4 {
            let mut inline = bytes;
            inline.resize(4, 0);
            head.extend(inline);
        } else {
            head.extend(u32b((data_at + data.len()) as u32));
            data.extend(&bytes);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend([0; 4]); // no next IFD
    head.extend(data);
    head
}

/// The TIFF structure of an EXIF block: IFD0 (orientation, pointers), the Exif IFD
/// (capture time) and the GPS IFD.
fn tiff(exif: &Exif) -> Vec<u8> {
    let be = exif.big_endian;
    let mut exif_ifd = Vec::new();
    if let Some(dt) = exif.date_time_original {
        exif_ifd.push((0x9003, V::Ascii(dt)));
    }
    if let Some(off) = exif.offset_time_original {
        exif_ifd.push((0x9011, V::Ascii(off)));
    }
    let mut gps_ifd = Vec::new();
    if let Some((lat, lat_ref, lon, lon_ref)) = &exif.gps {
        gps_ifd.push((0x0001, V::Ascii(lat_ref)));
        gps_ifd.push((0x0002, V::Rational(lat.clone())));
        gps_ifd.push((0x0003, V::Ascii(lon_ref)));
        gps_ifd.push((0x0004, V::Rational(lon.clone())));
    }
    // IFD0 entries must be sorted by tag; pointers are patched once the layout is known.
    let mut ifd0 = vec![(0x010F, V::Ascii("HechaTestCam"))];
    if let Some(o) = exif.orientation {
        ifd0.push((0x0112, V::Short(o)));
    }
    let has_exif = !exif_ifd.is_empty();
    let has_gps = !gps_ifd.is_empty();
    if has_exif {
        ifd0.push((0x8769, V::Long(0)));
    }
    if has_gps {
        ifd0.push((0x8825, V::Long(0)));
    }
    let ifd0_at = 8;
    let exif_at = ifd0_at + ifd_len(&ifd0, be);
    let gps_at = exif_at + if has_exif { ifd_len(&exif_ifd, be) } else { 0 };
    for (tag, value) in ifd0.iter_mut() {
        match tag {
            0x8769 => *value = V::Long(exif_at as u32),
            0x8825 => *value = V::Long(gps_at as u32),
            _ => {}
        }
    }
    let mut out = if be {
        b"MM\0\x2a\0\0\0\x08".to_vec()
    } else {
        b"II\x2a\0\x08\0\0\0".to_vec()
    };
    out.extend(ifd(&ifd0, ifd0_at, be));
    if has_exif {
        out.extend(ifd(&exif_ifd, exif_at, be));
    }
    if has_gps {
        out.extend(ifd(&gps_ifd, gps_at, be));
    }
    out
}

/// A JPEG from the image crate's encoder (not the pipeline's), as a camera would give.
fn plain_jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(image)
        .unwrap();
    out
}

/// `jpeg` with an APP1 "Exif" segment holding `tiff` right after SOI, as cameras write it.
fn with_app1(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

fn camera_jpeg(image: &RgbImage, exif: &Exif) -> Vec<u8> {
    with_app1(&plain_jpeg(image), &tiff(exif))
}

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 40];
const BLUE: [u8; 3] = [30, 40, 220];
const YELLOW: [u8; 3] = [230, 220, 30];

/// The scene as a person sees it: wider than high, each quadrant its own colour (red top
/// left, green top right, blue bottom left, yellow bottom right).
fn upright_scene(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb(match (x < width / 2, y < height / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => YELLOW,
        })
    })
}

/// The pixels a camera stores for `upright` when it writes EXIF orientation `o` instead of
/// rotating: per the EXIF definition of where the stored 0th row and 0th column are in the
/// visual image (1: top/left, 2: top/right, 3: bottom/right, 4: bottom/left, 5: left/top,
/// 6: right/top, 7: right/bottom, 8: left/bottom). Written out by hand, independently of
/// the pipeline's use of the image crate.
fn as_stored(upright: &RgbImage, o: u16) -> RgbImage {
    let (w, h) = upright.dimensions();
    let (sw, sh) = if o >= 5 { (h, w) } else { (w, h) };
    RgbImage::from_fn(sw, sh, |x, y| {
        let (ux, uy) = match o {
            1 => (x, y),
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (w - 1 - y, x),
            7 => (w - 1 - y, h - 1 - x),
            8 => (y, h - 1 - x),
            _ => unreachable!(),
        };
        *upright.get_pixel(ux, uy)
    })
}

fn decode(jpeg: &[u8]) -> RgbImage {
    assert_eq!(
        image::guess_format(jpeg).unwrap(),
        ImageFormat::Jpeg,
        "stored photos are JPEG"
    );
    image::load_from_memory(jpeg).unwrap().into_rgb8()
}

fn assert_colour_near(image: &RgbImage, x: u32, y: u32, want: [u8; 3], what: &str) {
    let got = image.get_pixel(x, y).0;
    let close = got
        .iter()
        .zip(want)
        .all(|(g, w)| (i32::from(*g) - i32::from(w)).abs() <= 40);
    assert!(
        close,
        "{what}: pixel ({x},{y}) is {got:?}, expected about {want:?}"
    );
}

/// Every marker segment before the image data, as (marker, payload).
fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        out.push((marker, jpeg[i + 4..i + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        i += 2 + len;
    }
    out
}

fn assert_no_exif(jpeg: &[u8]) {
    let segs = segments(jpeg);
    assert!(
        segs.iter().any(|(m, _)| *m == 0xDA),
        "reached the image data"
    );
    assert!(
        segs.iter().all(|(m, _)| *m != 0xE1),
        "no APP1 (EXIF/XMP) segment in a stored photo"
    );
    assert!(
        !jpeg.windows(6).any(|w| w == b"Exif\0\0"),
        "no EXIF header anywhere in a stored photo"
    );
    assert!(!jpeg.windows(12).any(|w| w == b"HechaTestCam"));
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A small valid PNG whose IHDR then claims `width`×`height` (CRC fixed up, so only the
/// size is a lie): a decompression bomb's header.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    upright_scene(8, 8)
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    // Signature (8), IHDR length (4), "IHDR" (4), width, height, ..., CRC over type+data.
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

// ---------- orientation and size ----------

#[test]
fn every_exif_orientation_comes_out_upright_with_the_right_dimensions() {
    let upright = upright_scene(96, 64);
    for o in 1..=8u16 {
        let stored = as_stored(&upright, o);
        if o >= 5 {
            assert_eq!(
                stored.dimensions(),
                (64, 96),
                "orientation {o} is stored sideways"
            );
        }
        let input = camera_jpeg(
            &stored,
            &Exif {
                orientation: Some(o),
                big_endian: o % 2 == 0,
                ..Exif::default()
            },
        );
        let photo = process_photo(&input, PhotoKind::HouseOutside).unwrap();
        assert_eq!((photo.width, photo.height), (96, 64), "orientation {o}");
        let out = decode(&photo.full);
        assert_eq!(out.dimensions(), (96, 64), "orientation {o}");
        let what = format!("orientation {o}");
        assert_colour_near(&out, 4, 4, RED, &format!("{what}, top left"));
        assert_colour_near(&out, 91, 4, GREEN, &format!("{what}, top right"));
        assert_colour_near(&out, 4, 59, BLUE, &format!("{what}, bottom left"));
        assert_colour_near(&out, 91, 59, YELLOW, &format!("{what}, bottom right"));
        assert_no_exif(&photo.full);
        assert_no_exif(&photo.thumb);
    }
}

#[test]
fn a_large_sideways_phone_photo_is_rotated_and_scaled_to_1600_on_the_long_edge() {
    // A tall photo as phones store it: wide pixels plus orientation 6. (Narrow, so the
    // unoptimised test build stays quick; the proportions are what matter.)
    let upright = upright_scene(600, 2000);
    let input = camera_jpeg(
        &as_stored(&upright, 6),
        &Exif {
            orientation: Some(6),
            ..Exif::default()
        },
    );
    let photo = process_photo(&input, PhotoKind::Family).unwrap();
    assert_eq!((photo.width, photo.height), (480, 1600));
    let full = decode(&photo.full);
    assert_eq!(full.dimensions(), (480, 1600));
    assert_colour_near(&full, 20, 20, RED, "top left after rotation");
    assert_colour_near(&full, 460, 20, GREEN, "top right after rotation");
    assert_colour_near(&full, 460, 1580, YELLOW, "bottom right after rotation");

    let thumb = decode(&photo.thumb);
    assert_eq!(
        thumb.dimensions(),
        (96, 320),
        "thumbnail ≈320 px on the long edge"
    );
    assert_colour_near(&thumb, 5, 5, RED, "thumbnail top left");
    assert_eq!(photo.kind, PhotoKind::Family);
}

#[test]
fn small_photos_are_not_enlarged_and_photos_without_exif_keep_their_layout() {
    let input = plain_jpeg(&upright_scene(200, 120));
    let photo = process_photo(&input, PhotoKind::Other).unwrap();
    assert_eq!((photo.width, photo.height), (200, 120));
    assert_eq!(decode(&photo.thumb).dimensions(), (200, 120));
    assert_colour_near(&decode(&photo.full), 3, 3, RED, "top left");
    assert_eq!(photo.captured_at, None);
    assert_eq!(photo.gps, None);
}

#[test]
fn the_stored_files_are_named_by_their_sha256_and_the_same_photo_gives_the_same_names() {
    let input = camera_jpeg(
        &upright_scene(64, 48),
        &Exif {
            orientation: Some(1),
            ..Exif::default()
        },
    );
    let a = process_photo(&input, PhotoKind::IdCard).unwrap();
    let b = process_photo(&input, PhotoKind::IdCard).unwrap();
    assert_eq!(a.sha256, sha256_hex(&a.full));
    assert_eq!(a.thumb_sha256, sha256_hex(&a.thumb));
    assert_eq!(a.sha256.len(), 64);
    assert!(a
        .sha256
        .bytes()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(
        (a.sha256.clone(), a.thumb_sha256.clone()),
        (b.sha256, b.thumb_sha256)
    );

    let dir = tempfile::tempdir().unwrap();
    let blobs = crate::blobs::BlobStore::new(dir.path());
    blobs.put(&a.sha256, &a.full).unwrap();
    blobs.put(&a.thumb_sha256, &a.thumb).unwrap();
    assert_eq!(blobs.get(&a.sha256).unwrap(), Some(a.full.clone()));
    assert!(blobs.has(&a.thumb_sha256).unwrap());
}

// ---------- evidence ----------

#[test]
fn capture_time_and_gps_survive_as_evidence_while_the_file_loses_its_exif() {
    let input = camera_jpeg(
        &upright_scene(80, 60),
        &Exif {
            orientation: Some(1),
            date_time_original: Some("2026:05:14 09:41:07"),
            offset_time_original: Some("+08:00"),
            // 39°54'15.16"N 116°24'26.62"E (Tiananmen Square).
            gps: Some((
                vec![(39, 1), (54, 1), (1516, 100)],
                "N",
                vec![(116, 1), (24, 1), (2662, 100)],
                "E",
            )),
            big_endian: false,
        },
    );
    let photo = process_photo(&input, PhotoKind::HouseOutside).unwrap();
    assert_eq!(
        photo.captured_at.as_deref(),
        Some("2026-05-14T09:41:07+08:00")
    );
    let (lat, lon) = photo.gps.unwrap();
    assert!((lat - 39.904_211).abs() < 1e-6, "latitude {lat}");
    assert!((lon - 116.407_394).abs() < 1e-6, "longitude {lon}");
    assert_no_exif(&photo.full);
    assert_no_exif(&photo.thumb);

    let r = photo.photo_ref(1_778_000_000_000);
    assert_eq!(r.sha256, photo.sha256);
    assert_eq!(r.thumb_sha256, photo.thumb_sha256);
    assert_eq!(r.kind, "house_outside");
    assert_eq!((r.width, r.height), (80, 60));
    assert_eq!(r.captured_at.as_deref(), Some("2026-05-14T09:41:07+08:00"));
    assert_eq!(
        (r.gps_lat_e6, r.gps_lon_e6),
        (Some(39_904_211), Some(116_407_394))
    );
    assert_eq!(r.taken_at, 1_778_000_000_000);
}

#[test]
fn southern_and_western_positions_are_negative_in_big_endian_exif_too() {
    let input = camera_jpeg(
        &upright_scene(40, 30),
        &Exif {
            date_time_original: Some("2025:12:31 23:59:59"),
            // 33°52'7.8"S 151°12'36"W, written as degrees + decimal minutes by some phones.
            gps: Some((
                vec![(33, 1), (52130, 1000), (0, 1)],
                "S",
                vec![(151, 1), (12, 1), (36, 1)],
                "W",
            )),
            big_endian: true,
            ..Exif::default()
        },
    );
    let photo = process_photo(&input, PhotoKind::Other).unwrap();
    assert_eq!(photo.captured_at.as_deref(), Some("2025-12-31T23:59:59"));
    let (lat, lon) = photo.gps.unwrap();
    assert!((lat + 33.868_833).abs() < 1e-5, "latitude {lat}");
    assert!((lon + 151.21).abs() < 1e-6, "longitude {lon}");
}

#[test]
fn nonsense_evidence_is_dropped_but_the_photo_is_kept() {
    let input = camera_jpeg(
        &upright_scene(40, 30),
        &Exif {
            orientation: Some(9),
            date_time_original: Some("0000:00:00 00:00:00"),
            gps: Some((vec![(39, 0), (0, 1), (0, 1)], "N", vec![(200, 1)], "E")),
            ..Exif::default()
        },
    );
    let photo = process_photo(&input, PhotoKind::Other).unwrap();
    assert_eq!(
        (photo.width, photo.height),
        (40, 30),
        "orientation 9 is ignored"
    );
    assert_eq!(photo.captured_at, None);
    assert_eq!(photo.gps, None);
    assert_eq!(photo.photo_ref(0).gps_lat_e6, None);
}

#[test]
fn a_damaged_exif_block_costs_the_evidence_not_the_photo() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let base = plain_jpeg(&upright_scene(40, 30));
    let good_tiff = tiff(&Exif {
        orientation: Some(3),
        date_time_original: Some("2026:01:02 03:04:05"),
        ..Exif::default()
    });
    for round in 0..300 {
        let tiff: Vec<u8> = if round % 2 == 0 {
            (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect()
        } else {
            // A real block with a few bytes scrambled (offsets pointing anywhere).
            let mut t = good_tiff.clone();
            for _ in 0..rng.gen_range(1..6) {
                let i = rng.gen_range(0..t.len());
                t[i] = rng.gen();
            }
            t
        };
        let photo = process_photo(&with_app1(&base, &tiff), PhotoKind::Other)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(matches!((photo.width, photo.height), (40, 30) | (30, 40)));
        assert_no_exif(&photo.full);
    }
}

// ---------- bad files ----------

#[test]
fn files_that_are_not_images_get_a_typed_error_with_a_chinese_message() {
    assert_eq!(process_photo(b"", PhotoKind::Other), Err(PhotoError::Empty));
    let not_images: [&[u8]; 4] = [
        b"%PDF-1.7\n1 0 obj",
        "申请人身份证号".as_bytes(),
        b"PK\x03\x04zip archive",
        b"GIF89a\x01\x00\x01\x00",
    ];
    for bytes in not_images {
        let err = process_photo(bytes, PhotoKind::Other).unwrap_err();
        assert_eq!(err, PhotoError::NotAnImage);
        assert!(err.message_zh().starts_with("不是图片文件"));
    }
    let truncated = plain_jpeg(&upright_scene(64, 48));
    let err = process_photo(&truncated[..truncated.len() / 2], PhotoKind::Other).unwrap_err();
    assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
    assert_eq!(err.message_zh(), "图片已损坏或不完整，请重新拍摄");

    let mut png = Vec::new();
    upright_scene(64, 48)
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    let err = process_photo(&png[..png.len() / 2], PhotoKind::Other).unwrap_err();
    assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
}

#[test]
fn every_truncation_of_a_jpeg_is_refused_as_incomplete_without_panicking() {
    let full = camera_jpeg(
        &upright_scene(48, 32),
        &Exif {
            orientation: Some(6),
            date_time_original: Some("2026:05:14 09:41:07"),
            ..Exif::default()
        },
    );
    assert!(jpeg_is_complete(&full));
    for cut in 1..full.len() - 1 {
        let err = process_photo(&full[..cut], PhotoKind::Other).unwrap_err();
        match err {
            PhotoError::Corrupt(_) => {}
            PhotoError::NotAnImage if cut < 3 => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // Data after the end-of-image marker (e.g. a motion photo's video) is accepted.
    let mut trailing = full.clone();
    trailing.extend(b"\0\0\0\x18ftypmp42 trailing video");
    assert!(process_photo(&trailing, PhotoKind::Other).is_ok());
}

#[test]
fn scrambled_and_random_files_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let jpeg = camera_jpeg(
        &upright_scene(64, 48),
        &Exif {
            orientation: Some(8),
            ..Exif::default()
        },
    );
    let mut png = Vec::new();
    upright_scene(32, 24)
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    for round in 0..400 {
        let bytes: Vec<u8> = match round % 4 {
            0 => (0..rng.gen_range(0..4096)).map(|_| rng.gen()).collect(),
            1 => {
                // Valid JPEG start, then noise.
                let mut b = jpeg[..rng.gen_range(2..200)].to_vec();
                b.extend((0..rng.gen_range(0..2000)).map(|_| rng.gen::<u8>()));
                b
            }
            2 => {
                let mut b = jpeg.clone();
                for _ in 0..rng.gen_range(1..20) {
                    let i = rng.gen_range(2..b.len());
                    b[i] = rng.gen();
                }
                b
            }
            _ => {
                let mut b = png.clone();
                for _ in 0..rng.gen_range(1..10) {
                    let i = rng.gen_range(8..b.len());
                    b[i] = rng.gen();
                }
                b.truncate(rng.gen_range(8..=b.len()));
                b
            }
        };
        // Ok or a typed error; a panic fails the test.
        if let Ok(photo) = process_photo(&bytes, PhotoKind::Other) {
            assert!(photo.width.max(photo.height) <= FULL_LONG_EDGE);
            assert_no_exif(&photo.full);
        }
    }
    for cut in 0..png.len() {
        let _ = process_photo(&png[..cut], PhotoKind::Other);
    }
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header_quickly() {
    let started = Instant::now();
    let err = process_photo(&png_claiming(100_000, 100_000), PhotoKind::Other).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge { .. }), "{err:?}");
    assert!(err.message_zh().starts_with("图片尺寸过大"));

    // Within the per-side limit but 121 megapixels.
    let err = process_photo(&png_claiming(11_000, 11_000), PhotoKind::Other).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooLarge {
            width: 11_000,
            height: 11_000
        }
    );
    assert_eq!(err.message_zh(), "图片尺寸过大（11000×11000），无法处理");

    // One side beyond the limit, even with few pixels.
    let err = process_photo(&png_claiming(20_000, 100), PhotoKind::Other).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge { .. }), "{err:?}");

    // A JPEG whose frame header claims 65000×65000.
    let mut jpeg = plain_jpeg(&upright_scene(16, 16));
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&65_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&65_000u16.to_be_bytes());
    let err = process_photo(&jpeg, PhotoKind::Other).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge { .. }), "{err:?}");

    // Refused from the header: no 30 GB buffer was allocated and filled.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_transparent_png_becomes_a_jpeg_on_white() {
    let image = RgbaImage::from_fn(50, 20, |x, _| {
        if x < 25 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([200, 30, 30, 255])
        }
    });
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    let photo = process_photo(&png, PhotoKind::MedicalRecord).unwrap();
    let out = decode(&photo.full);
    assert_eq!(out.dimensions(), (50, 20));
    assert_colour_near(&out, 5, 10, [255, 255, 255], "transparent becomes white");
    assert_colour_near(&out, 45, 10, [200, 30, 30], "opaque keeps its colour");
}

#[test]
fn a_webp_picked_from_files_is_stored_as_an_upright_jpeg() {
    let mut webp = Vec::new();
    upright_scene(120, 80)
        .write_to(&mut std::io::Cursor::new(&mut webp), ImageFormat::WebP)
        .unwrap();
    let photo = process_photo(&webp, PhotoKind::HouseInside).unwrap();
    let out = decode(&photo.full);
    assert_eq!(out.dimensions(), (120, 80));
    assert_colour_near(&out, 5, 5, RED, "top left");
    assert_colour_near(&out, 115, 75, YELLOW, "bottom right");
    // Cut short: a typed error, not a half photo.
    let err = process_photo(&webp[..webp.len() / 2], PhotoKind::Other).unwrap_err();
    assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
}
