//! The device's position for a visit's evidence: the geolocation plugin on mobile, an
//! honest "unavailable" on desktop. Positions become integer micro-degrees here, so no
//! floating point reaches the case document.

use hecha_shared::app_api::GeoPosition;

/// Status codes, as in the case document's `visit.gps_status`.
#[cfg(any(mobile, test))]
pub const OK: &str = "ok";
pub const UNAVAILABLE: &str = "unavailable";
#[cfg(mobile)]
pub const DENIED: &str = "denied";

fn without_position(status: &str, message: &str) -> GeoPosition {
    GeoPosition {
        status: status.to_string(),
        message: message.to_string(),
        ..GeoPosition::default()
    }
}

#[cfg(any(mobile, test))]
/// Degrees to micro-degrees; `None` outside `±max_abs` or for NaN.
pub fn to_e6(degrees: f64, max_abs: f64) -> Option<i64> {
    (degrees.is_finite() && degrees.abs() <= max_abs)
        .then(|| (degrees * 1_000_000.0).round() as i64)
}

#[cfg(any(mobile, test))]
/// A reading from the platform, checked and converted.
pub fn from_reading(latitude: f64, longitude: f64, accuracy: f64) -> GeoPosition {
    match (to_e6(latitude, 90.0), to_e6(longitude, 180.0)) {
        (Some(lat_e6), Some(lon_e6)) => GeoPosition {
            status: OK.to_string(),
            lat_e6,
            lon_e6,
            accuracy_m: if accuracy.is_finite() && accuracy >= 0.0 {
                accuracy.round() as i64
            } else {
                0
            },
            message: String::new(),
        },
        _ => without_position(UNAVAILABLE, "定位结果无效"),
    }
}

#[cfg(desktop)]
pub async fn current<R: tauri::Runtime>(_app: &tauri::AppHandle<R>) -> GeoPosition {
    without_position(UNAVAILABLE, "定位不可用（桌面设备）")
}

#[cfg(mobile)]
pub async fn current<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> GeoPosition {
    use tauri::plugin::PermissionState;
    use tauri_plugin_geolocation::{GeolocationExt, PositionOptions};

    let geo = app.geolocation();
    let allowed = match geo.check_permissions() {
        Ok(p) if p.location == PermissionState::Granted => true,
        _ => matches!(
            geo.request_permissions(None),
            Ok(p) if p.location == PermissionState::Granted
        ),
    };
    if !allowed {
        return without_position(DENIED, "未获得定位权限");
    }
    let options = PositionOptions {
        enable_high_accuracy: true,
        timeout: 15_000,
        maximum_age: 0,
    };
    match geo.get_current_position(Some(options)) {
        Ok(p) => from_reading(p.coords.latitude, p.coords.longitude, p.coords.accuracy),
        Err(e) => {
            tracing::warn!(error = %e, "no position");
            without_position(UNAVAILABLE, "暂时无法定位")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_become_micro_degrees_and_nonsense_is_not_a_position() {
        let p = from_reading(38.986_5, 106.383_2, 12.6);
        assert_eq!(
            (p.status.as_str(), p.lat_e6, p.lon_e6, p.accuracy_m),
            (OK, 38_986_500, 106_383_200, 13)
        );
        let bad = from_reading(f64::NAN, 106.0, 5.0);
        assert_eq!(
            (bad.status.as_str(), bad.lat_e6, bad.lon_e6),
            (UNAVAILABLE, 0, 0)
        );
    }
}
