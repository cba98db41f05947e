//! Reads the three things the visit record needs from a photo's EXIF block: orientation,
//! capture time and GPS position. Everything else (camera model, maker notes, the embedded
//! thumbnail) is ignored and never stored.
//!
//! Why `kamadak-exif` rather than a parser of our own: the decoders of the `image` crate
//! already find the raw EXIF (TIFF) block in JPEG, PNG (`eXIf`) and WebP, so what is left is
//! walking TIFF IFDs — IFD0, the Exif sub-IFD and the GPS sub-IFD, in either byte order,
//! with offsets that point anywhere. `kamadak-exif` is the parser the `image` docs point
//! to, it is pure Rust with one tiny dependency, and it has met the oddities of real camera
//! firmware (offsets out of range, IFD loops, broken maker notes) for years. With
//! `continue_on_error` it returns the fields it could read when a vendor's sub-IFD is
//! broken, so one bad maker note does not cost us the GPS position. Every value it returns
//! is still checked here (ranges, zero denominators, date digits) before it is believed,
//! and the photo tests feed it random and truncated bytes.

use exif::{In, Reader, Tag, Value};

/// What the pipeline takes from EXIF. Absent or unreadable fields are `None`; an
/// unreadable block as a whole gives the default (upright, no time, no position).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ExifInfo {
    /// EXIF orientation 1..=8, when present and valid.
    pub orientation: Option<u8>,
    /// `YYYY-MM-DDTHH:MM:SS`, plus `±HH:MM` when the camera recorded its offset.
    pub captured_at: Option<String>,
    /// (latitude, longitude) in degrees, south and west negative.
    pub gps: Option<(f64, f64)>,
}

/// Parses a raw EXIF block (the TIFF structure, as the `image` decoders return it).
/// Never fails: a damaged block only loses what cannot be read.
pub(crate) fn read(tiff: &[u8]) -> ExifInfo {
    // Some writers (and PNG eXIf chunks made by old tools) keep the JPEG "Exif\0\0" prefix.
    let tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    let exif = match Reader::new()
        .continue_on_error(true)
        .read_raw(tiff.to_vec())
    {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
        Err(_) => return ExifInfo::default(),
    };
    ExifInfo {
        orientation: exif
            .get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|v| u8::try_from(v).ok())
            .filter(|v| (1..=8).contains(v)),
        captured_at: captured_at(&exif),
        gps: gps(&exif),
    }
}

fn ascii(exif: &exif::Exif, tag: Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

/// DateTimeOriginal `YYYY:MM:DD HH:MM:SS` (local camera time) with OffsetTimeOriginal.
fn captured_at(exif: &exif::Exif) -> Option<String> {
    let raw = ascii(exif, Tag::DateTimeOriginal)?;
    let raw = raw.get(..19)?;
    let digits_at = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if !digits_at.iter().all(|&i| raw[i].is_ascii_digit())
        || raw[4] != b':'
        || raw[7] != b':'
        || raw[10] != b' '
        || raw[13] != b':'
        || raw[16] != b':'
    {
        // Includes the "0000:00:00 00:00:00" and all-blank forms cameras write when unset
        // (the year check below catches the zeros).
        return None;
    }
    let num = |a: usize, b: usize| -> u32 {
        raw[a..b]
            .iter()
            .fold(0, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
    if year < 1900 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if let Some(offset) = ascii(exif, Tag::OffsetTimeOriginal).and_then(offset) {
        text.push_str(&offset);
    }
    Some(text)
}

/// `+08:00` / `-05:30`, checked.
fn offset(raw: &[u8]) -> Option<String> {
    let raw = raw.get(..6)?;
    let ok = matches!(raw[0], b'+' | b'-')
        && raw[1].is_ascii_digit()
        && raw[2].is_ascii_digit()
        && raw[3] == b':'
        && raw[4].is_ascii_digit()
        && raw[5].is_ascii_digit();
    ok.then(|| String::from_utf8_lossy(raw).into_owned())
}

fn gps(exif: &exif::Exif) -> Option<(f64, f64)> {
    let lat = degrees(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S', 90.0)?;
    let lon = degrees(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W', 180.0)?;
    Some((lat, lon))
}

/// Degrees from the three rationals (degrees, minutes, seconds) and the hemisphere ref.
fn degrees(exif: &exif::Exif, tag: Tag, ref_tag: Tag, negative: u8, max: f64) -> Option<f64> {
    let Value::Rational(parts) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    if parts.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for (i, scale) in [1.0, 60.0, 3600.0].into_iter().enumerate() {
        // Some writers give only degrees (or degrees and decimal minutes).
        let Some(part) = parts.get(i) else { break };
        if part.denom == 0 {
            return None;
        }
        total += f64::from(part.num) / f64::from(part.denom) / scale;
    }
    let hemisphere = ascii(exif, ref_tag)?.first().copied()?;
    let sign = if hemisphere == negative {
        -1.0
    } else if hemisphere == b'N' || hemisphere == b'E' {
        1.0
    } else {
        return None;
    };
    (total.is_finite() && total <= max).then_some(sign * total)
}
