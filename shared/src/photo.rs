//! Photo evidence of a visit: the kinds of photo a verifier takes and the reference a case
//! document holds for each one (the image bytes live apart, content-addressed by SHA-256).
//!
//! No floating point goes into the Automerge document: GPS positions are integer
//! micro-degrees, times are integer milliseconds or the camera's own text.

use autosurgeon::Hydrate;
use serde::{Deserialize, Serialize};

/// What a photo shows. Stored in documents by its [`code`](PhotoKind::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    HouseOutside,
    HouseInside,
    Family,
    IdCard,
    HouseholdRegister,
    MedicalRecord,
    DisabilityCertificate,
    Other,
}

impl PhotoKind {
    pub const ALL: [PhotoKind; 8] = [
        PhotoKind::HouseOutside,
        PhotoKind::HouseInside,
        PhotoKind::Family,
        PhotoKind::IdCard,
        PhotoKind::HouseholdRegister,
        PhotoKind::MedicalRecord,
        PhotoKind::DisabilityCertificate,
        PhotoKind::Other,
    ];

    /// The stable code written into documents and sent over the wire.
    pub fn code(self) -> &'static str {
        match self {
            PhotoKind::HouseOutside => "house_outside",
            PhotoKind::HouseInside => "house_inside",
            PhotoKind::Family => "family",
            PhotoKind::IdCard => "id_card",
            PhotoKind::HouseholdRegister => "household_register",
            PhotoKind::MedicalRecord => "medical_record",
            PhotoKind::DisabilityCertificate => "disability_certificate",
            PhotoKind::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The label the UI shows.
    pub fn label_zh(self) -> &'static str {
        match self {
            PhotoKind::HouseOutside => "房屋外景",
            PhotoKind::HouseInside => "房屋内景",
            PhotoKind::Family => "家庭合影",
            PhotoKind::IdCard => "身份证",
            PhotoKind::HouseholdRegister => "户口簿",
            PhotoKind::MedicalRecord => "病历",
            PhotoKind::DisabilityCertificate => "残疾证",
            PhotoKind::Other => "其他",
        }
    }
}

/// A photo as a case document refers to it. The full image and its thumbnail are blobs
/// named by the lowercase hex SHA-256 of their bytes (the stored files carry no EXIF; the
/// evidence EXIF held is kept here instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate)]
pub struct PhotoRef {
    /// SHA-256 (lowercase hex) of the stored full image (JPEG).
    pub sha256: String,
    /// SHA-256 (lowercase hex) of the stored thumbnail (JPEG).
    pub thumb_sha256: String,
    /// A [`PhotoKind`] code.
    pub kind: String,
    /// Pixel size of the stored full image, upright.
    pub width: i64,
    pub height: i64,
    /// The camera's capture time (EXIF DateTimeOriginal) as `YYYY-MM-DDTHH:MM:SS`, with the
    /// camera's UTC offset appended (`+08:00`) when it recorded one. Camera clocks are local
    /// and unverified, so this stays text; `None` when the file had none.
    pub captured_at: Option<String>,
    /// Where the camera said it was, in micro-degrees (WGS-84 as the phone reports it);
    /// `None` when the file had no position.
    pub gps_lat_e6: Option<i64>,
    pub gps_lon_e6: Option<i64>,
    /// When the photo was added to the case on the device, ms since the Unix epoch.
    pub taken_at: i64,
    /// Set instead of deleting: a removed photo is no longer part of the record (schema 2).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub removed: bool,
    /// When the reference was written into the case, ms since the Unix epoch (schema 2).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub added_at: i64,
    /// The user id of who added it (schema 2).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub added_by: String,
}

impl PhotoRef {
    /// The kind, if the code is one this version knows.
    pub fn photo_kind(&self) -> Option<PhotoKind> {
        PhotoKind::from_code(&self.kind)
    }

    /// Micro-degrees from degrees; `None` outside the valid range or for non-finite input.
    pub fn degrees_to_e6(degrees: f64, max_abs: f64) -> Option<i64> {
        if !degrees.is_finite() || degrees.abs() > max_abs {
            return None;
        }
        Some((degrees * 1_000_000.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_code_and_has_a_distinct_chinese_label() {
        let mut labels = std::collections::BTreeSet::new();
        for kind in PhotoKind::ALL {
            assert_eq!(PhotoKind::from_code(kind.code()), Some(kind));
            assert!(labels.insert(kind.label_zh()));
        }
        assert_eq!(PhotoKind::HouseholdRegister.label_zh(), "户口簿");
        assert_eq!(PhotoKind::from_code("selfie"), None);
    }

    #[test]
    fn positions_become_integer_micro_degrees_and_nonsense_is_refused() {
        assert_eq!(PhotoRef::degrees_to_e6(39.904_211, 90.0), Some(39_904_211));
        assert_eq!(
            PhotoRef::degrees_to_e6(-116.407_395, 180.0),
            Some(-116_407_395)
        );
        assert_eq!(PhotoRef::degrees_to_e6(91.0, 90.0), None);
        assert_eq!(PhotoRef::degrees_to_e6(f64::NAN, 90.0), None);
    }
}
