//! The steps of [`process_photo`]: bounded decode, scale, orientation, JPEG encode, hash.

use std::io::Cursor;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType as ResizeFilter, PixelType, ResizeAlg, ResizeOptions, Resizer};
use hecha_shared::photo::PhotoKind;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};
use sha2::{Digest, Sha256};

use super::{
    exif, PhotoError, ProcessedPhoto, FULL_LONG_EDGE, JPEG_QUALITY, MAX_DECODE_BYTES,
    MAX_INPUT_BYTES, MAX_PIXELS, MAX_SIDE, THUMB_LONG_EDGE,
};

/// Turns a photo file into the two stored JPEGs and its evidence. Never panics on any
/// input; refuses oversized images from their header, before decoding.
pub fn process_photo(bytes: &[u8], kind: PhotoKind) -> Result<ProcessedPhoto, PhotoError> {
    let (image, exif) = decode(bytes)?;
    let mut full = scale_to_fit(&image, FULL_LONG_EDGE)?;
    drop(image);
    if let Some(orientation) = exif.orientation.and_then(Orientation::from_exif) {
        let mut dynamic = DynamicImage::ImageRgb8(full);
        dynamic.apply_orientation(orientation);
        full = dynamic.into_rgb8();
    }
    let thumb = scale_to_fit(&full, THUMB_LONG_EDGE)?;
    let full_jpeg = encode_jpeg(&full, JPEG_QUALITY)?;
    let thumb_jpeg = encode_jpeg(&thumb, JPEG_QUALITY)?;
    Ok(ProcessedPhoto {
        sha256: sha256_hex(&full_jpeg),
        thumb_sha256: sha256_hex(&thumb_jpeg),
        full: full_jpeg,
        thumb: thumb_jpeg,
        width: full.width(),
        height: full.height(),
        kind,
        captured_at: exif.captured_at,
        gps: exif.gps,
    })
}

/// Lowercase hex SHA-256, the name of a blob.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Decodes within the limits; returns RGB pixels (alpha flattened onto white) and EXIF.
fn decode(bytes: &[u8]) -> Result<(RgbImage, exif::ExifInfo), PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(PhotoError::FileTooLarge(bytes.len()));
    }
    let format = image::guess_format(bytes).map_err(|_| PhotoError::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(PhotoError::NotAnImage);
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(PhotoError::Corrupt(
            "JPEG data ends before its EOI marker".into(),
        ));
    }

    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    // Reads the header only; the per-side limits are checked here.
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt("zero-sized image".into()));
    }
    if width > MAX_SIDE
        || height > MAX_SIDE
        || u64::from(width) * u64::from(height) > MAX_PIXELS
        || decoder.total_bytes() > MAX_DECODE_BYTES
    {
        return Err(PhotoError::TooLarge { width, height });
    }
    // EXIF trouble never rejects a photo: it only loses the evidence it would have given.
    let exif = decoder
        .exif_metadata()
        .ok()
        .flatten()
        .map(|raw| exif::read(&raw))
        .unwrap_or_default();
    let image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    Ok((flatten(image), exif))
}

/// RGB pixels; transparent areas (screenshots, scans saved as PNG) become white, not black.
fn flatten(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = u32::from(px[3]);
        for c in 0..3 {
            let v = (u32::from(px[c]) * alpha + 255 * (255 - alpha) + 127) / 255;
            out[c] = v.min(255) as u8;
        }
    }
    rgb
}

fn map_image_error(error: ImageError) -> PhotoError {
    match error {
        ImageError::Limits(_) => PhotoError::TooLarge {
            width: 0,
            height: 0,
        },
        ImageError::Decoding(e) => PhotoError::Corrupt(e.to_string()),
        ImageError::IoError(e) => PhotoError::Corrupt(e.to_string()),
        ImageError::Unsupported(e) => PhotoError::Unsupported(e.to_string()),
        ImageError::Parameter(e) => PhotoError::Corrupt(e.to_string()),
        ImageError::Encoding(e) => PhotoError::Encode(e.to_string()),
    }
}

/// The size that fits `long_edge` keeping the aspect ratio; never larger than the input.
pub(crate) fn fit(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled =
            (u64::from(side) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long);
        (scaled as u32).max(1)
    };
    (scale(width), scale(height))
}

/// The scaling algorithm: Lanczos3 convolution (sharp, no visible ringing on photos).
/// `fast_image_resize` runs it with SIMD (SSE4.1/AVX2 here, NEON on phones).
pub const SCALE_ALG: ResizeAlg = ResizeAlg::Convolution(ResizeFilter::Lanczos3);

/// Scales down so the long edge is at most `long_edge` (never up).
pub fn scale_to_fit(image: &RgbImage, long_edge: u32) -> Result<RgbImage, PhotoError> {
    let (width, height) = image.dimensions();
    let (target_w, target_h) = fit(width, height, long_edge);
    if (target_w, target_h) == (width, height) {
        return Ok(image.clone());
    }
    scale_with(image, target_w, target_h, SCALE_ALG)
}

/// Scales to exactly `width`×`height` with `alg` (the benchmark compares algorithms).
pub fn scale_with(
    image: &RgbImage,
    width: u32,
    height: u32,
    alg: ResizeAlg,
) -> Result<RgbImage, PhotoError> {
    let failed = |e: &dyn std::fmt::Display| PhotoError::Encode(format!("scaling: {e}"));
    let src = ImageRef::new(
        image.width(),
        image.height(),
        image.as_raw(),
        PixelType::U8x3,
    )
    .map_err(|e| failed(&e))?;
    let mut dst = Image::new(width, height, PixelType::U8x3);
    Resizer::new()
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(alg))
        .map_err(|e| failed(&e))?;
    RgbImage::from_raw(width, height, dst.into_vec()).ok_or_else(|| failed(&"buffer size mismatch"))
}

/// Baseline JPEG at `quality` (1..=100): 4:2:0 chroma (averaged) below 90, standard
/// Huffman tables, no metadata segment but JFIF.
///
/// Not `set_optimized_huffman_tables`: with it, jpeg-encoder 0.7.1 wrote files that the
/// image crate's decoder (zune-jpeg) read back with wrong colours (a flat red became
/// green) — a stored photo must read back the same everywhere, so the few percent are
/// not worth it.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let (Ok(width), Ok(height)) = (u16::try_from(image.width()), u16::try_from(image.height()))
    else {
        return Err(PhotoError::Encode("wider than JPEG allows".into()));
    };
    let mut out = Vec::with_capacity(256 * 1024);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    encoder
        .encode(image.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(out)
}

/// Walks the JPEG's marker structure (segments by their lengths, entropy-coded data up to
/// the next real marker) and tells whether it reaches an end-of-image marker. Data after
/// EOI (e.g. the video of a "motion photo") is allowed. The EXIF thumbnail's own EOI sits
/// inside its APP1 segment and is skipped with it.
pub(crate) fn jpeg_is_complete(data: &[u8]) -> bool {
    if data.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return false;
    }
    let mut i = 2;
    loop {
        // Find the next marker: skip garbage (tolerated, as decoders do) and fill bytes.
        match data
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
        {
            Some(offset) => i += offset,
            None => return false,
        }
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,
            // Stuffed zero outside entropy data, restart markers, TEM, a repeated SOI:
            // no length field.
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let Some(len) = data
            .get(i..i + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return false;
        };
        if len < 2 || i + len > data.len() {
            return false;
        }
        i += len;
        if marker == 0xDA {
            // Entropy-coded data: runs until an 0xFF that starts a marker other than a
            // stuffed zero or a restart marker.
            loop {
                match data
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
                {
                    Some(offset) => i += offset,
                    None => return false,
                }
                match data.get(i + 1) {
                    None => return false,
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(0xFF) => i += 1,
                    Some(_) => break,
                }
            }
        }
    }
}
