//! The photo pipeline: a phone photo (or a picked file) in, the two files the device keeps
//! out — an upright JPEG of at most 1600 px on the long edge and a ≈320 px thumbnail, both
//! without EXIF, named by their SHA-256 — plus the evidence EXIF held (capture time, GPS).
//!
//! Steps ([`process_photo`]): sniff the format (JPEG, PNG, WebP); read the header only and
//! refuse absurd dimensions before any pixel buffer exists ([`MAX_SIDE`], [`MAX_PIXELS`],
//! [`MAX_DECODE_BYTES`]); refuse a JPEG whose data ends before its end-of-image marker (the
//! decoder would otherwise fill the missing part with grey and we would store a half
//! photo as evidence); decode; scale down (never up) to [`FULL_LONG_EDGE`]; apply the EXIF
//! orientation on the small image (cheap, and the long edge does not change with it);
//! encode JPEG at [`JPEG_QUALITY`]; scale the result to [`THUMB_LONG_EDGE`] for the thumbnail.
//!
//! Figures below come from `cargo bench -p hecha-core --bench photos` (release, this
//! 2-core machine shared with other builds, so times are pessimistic), on a generated
//! 4000×3000 scene (sky gradient, fractal texture, buildings, text-like marks, sensor
//! noise; 2.9 MB as a q92 JPEG) and on a real 1800×1200 photo (`Landscape_1.jpg` of the
//! exif-orientation examples, passed as an argument; not in the repository).
//!
//! Pipeline on the 12 MP JPEG: median 145–264 ms over runs (the spread is the other
//! builds' load; quiet run: decode 89–101, scale 17–19, encode 24 ms), full image
//! 1600×1200 = 209 KB, thumbnail 14 KB. Targets: ≤ 0.5 s, ≤ 400 KB. The real photo: 62 ms,
//! 319 KB + 16 KB.
//!
//! Scaling 4000×3000 → 1600×1200: `fast_image_resize` Lanczos3 18–29 ms (its SIMD paths:
//! SSE4.1/AVX2 here, NEON on phones) against 383–677 ms for the `image` crate's Lanczos3
//! and 104–232 ms for its box `thumbnail`; same result (PSNR 56.7 dB against image's
//! Lanczos3).
//!
//! JPEG quality against size, 1600 px output, `jpeg-encoder` (4:2:0 below q90, which is
//! what phones write) — PSNR against the unencoded scaled pixels:
//!
//! | quality | generated 1600×1200 | real photo 1600×1067 |
//! |--------:|--------------------:|---------------------:|
//! |      60 |   134 KB, 34.0 dB   |    203 KB, 33.4 dB   |
//! |      70 |   161 KB, 34.7 dB   |    247 KB, 34.4 dB   |
//! |      75 |   179 KB, 35.1 dB   |    275 KB, 35.1 dB   |
//! |  **80** |   208 KB, 35.6 dB   |    319 KB, 36.0 dB   |
//! |      85 |   250 KB, 36.2 dB   |    380 KB, 37.3 dB   |
//! |      90 |   407 KB, 40.3 dB   |    552 KB, 39.9 dB   |
//! |      95 |   638 KB, 43.1 dB   |    788 KB, 43.7 dB   |
//!
//! We chose 80. Documents (ID card, 户口簿, medical records) must stay legible, and small
//! print is what JPEG artefacts hurt first; from 80 up the size grows fast (85: +20 %,
//! 90: +75 % as chroma goes full resolution) for little visible gain, while the detailed
//! real photo at 80 still fits the 400 KB per photo the visit budget allows (4 photos +
//! thumbnails ≈ 1.35 MB of the 1.5 MB). On the real photo `jpeg-encoder` at q80 is 12 %
//! smaller than the `image` crate's encoder at q80 (361 KB) for 0.4 dB less.

pub(crate) mod attach;
mod exif;
mod pipeline;

use hecha_shared::photo::{PhotoKind, PhotoRef};

pub use pipeline::{encode_jpeg, process_photo, scale_to_fit, scale_with, SCALE_ALG};

/// Longest edge of the stored full image, in pixels.
pub const FULL_LONG_EDGE: u32 = 1600;
/// Longest edge of the thumbnail, in pixels.
pub const THUMB_LONG_EDGE: u32 = 320;
/// JPEG quality of the stored image and thumbnail (chosen by measurement, see above).
pub const JPEG_QUALITY: u8 = 80;
/// Largest width or height accepted: room for a phone panorama (e.g. 16000×3000, 48 MP);
/// the pixel count and allocation limits below are what stop a bomb.
pub const MAX_SIDE: u32 = 16_384;
/// Largest pixel count accepted (100 MP).
pub const MAX_PIXELS: u64 = 100_000_000;
/// Largest decoded pixel buffer the decoder may allocate.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// Largest input file accepted (phone JPEGs are 3–15 MB).
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// A photo ready to store: two EXIF-free JPEGs and what the case document records.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// The upright full image, JPEG, long edge at most [`FULL_LONG_EDGE`].
    pub full: Vec<u8>,
    /// The thumbnail, JPEG, long edge at most [`THUMB_LONG_EDGE`].
    pub thumb: Vec<u8>,
    /// Lowercase hex SHA-256 of `full`.
    pub sha256: String,
    /// Lowercase hex SHA-256 of `thumb`.
    pub thumb_sha256: String,
    /// Size of `full`, upright.
    pub width: u32,
    pub height: u32,
    pub kind: PhotoKind,
    /// EXIF DateTimeOriginal as `YYYY-MM-DDTHH:MM:SS[±HH:MM]`.
    pub captured_at: Option<String>,
    /// EXIF GPS position (latitude, longitude) in degrees, south and west negative.
    pub gps: Option<(f64, f64)>,
}

impl ProcessedPhoto {
    /// The reference a case document holds for this photo; `taken_at_ms` is when it was
    /// added on the device. GPS becomes integer micro-degrees (no floats in documents).
    pub fn photo_ref(&self, taken_at_ms: i64) -> PhotoRef {
        let lat = self
            .gps
            .and_then(|(lat, _)| PhotoRef::degrees_to_e6(lat, 90.0));
        let lon = self
            .gps
            .and_then(|(_, lon)| PhotoRef::degrees_to_e6(lon, 180.0));
        let (gps_lat_e6, gps_lon_e6) = match (lat, lon) {
            (Some(lat), Some(lon)) => (Some(lat), Some(lon)),
            _ => (None, None),
        };
        PhotoRef {
            sha256: self.sha256.clone(),
            thumb_sha256: self.thumb_sha256.clone(),
            kind: self.kind.code().to_string(),
            width: i64::from(self.width),
            height: i64::from(self.height),
            captured_at: self.captured_at.clone(),
            gps_lat_e6,
            gps_lon_e6,
            taken_at: taken_at_ms,
            removed: false,
            added_at: taken_at_ms,
            added_by: String::new(),
        }
    }
}

/// Why a file could not become a stored photo. [`PhotoError::message_zh`] is what the user
/// reads next to the photo field (the rest of the form is untouched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the file is empty")]
    Empty,
    #[error("not an image in a supported format (JPEG, PNG, WebP)")]
    NotAnImage,
    #[error("the image is damaged or incomplete: {0}")]
    Corrupt(String),
    #[error("the image uses a feature that is not supported: {0}")]
    Unsupported(String),
    /// `width` and `height` are 0 when the decoder refused before telling them.
    #[error("the image is too large ({width}x{height})")]
    TooLarge { width: u32, height: u32 },
    #[error("the file is too large ({0} bytes)")]
    FileTooLarge(usize),
    #[error("the photo could not be encoded: {0}")]
    Encode(String),
}

impl PhotoError {
    /// The message shown to the user.
    pub fn message_zh(&self) -> String {
        match self {
            PhotoError::Empty => "文件是空的，请重新拍摄或选择".to_string(),
            PhotoError::NotAnImage => "不是图片文件，请选择 JPEG、PNG 或 WebP 照片".to_string(),
            PhotoError::Corrupt(_) => "图片已损坏或不完整，请重新拍摄".to_string(),
            PhotoError::Unsupported(_) => "不支持这种图片格式，请重新拍摄".to_string(),
            PhotoError::TooLarge { width: 0, .. } | PhotoError::TooLarge { height: 0, .. } => {
                "图片尺寸过大，无法处理".to_string()
            }
            PhotoError::TooLarge { width, height } => {
                format!("图片尺寸过大（{width}×{height}），无法处理")
            }
            PhotoError::FileTooLarge(bytes) => {
                format!("图片文件过大（{} MB），无法处理", bytes / (1024 * 1024))
            }
            PhotoError::Encode(_) => "照片处理失败，请重试".to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
