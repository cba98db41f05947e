//! Display helpers: how times and conflict values read to a person (zh-CN).

use hecha_shared::case::relation_label;

/// `2026-11-27 14:05` in the device's local time; `时间未知` when the time is not known.
pub fn local_time(ms: i64) -> String {
    if ms <= 0 {
        return "时间未知".to_string();
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// A conflicting value as shown on its button: relation codes read as their labels.
pub fn conflict_value(path: &[String], value: &str) -> String {
    if value.is_empty() {
        return "（空）".to_string();
    }
    match path.last().map(String::as_str) {
        Some("relation") => relation_label(value).to_string(),
        _ => value.to_string(),
    }
}

pub fn author(author: &str) -> &str {
    if author.is_empty() {
        "未知用户"
    } else {
        author
    }
}

/// `2026-11-27T14:05` (local) for `<input type=datetime-local>`; empty when not set.
pub fn datetime_local(ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// The ms of a `datetime-local` value in the device's time zone; 0 when empty or invalid.
pub fn parse_datetime_local(text: &str) -> i64 {
    if text.trim().is_empty() {
        return 0;
    }
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text)).get_time();
    if ms.is_finite() {
        ms as i64
    } else {
        0
    }
}

/// The device's clock now, ms since the epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Today's date on the device: (year, month 1..=12, day).
pub fn today() -> (i32, u32, u32) {
    let d = js_sys::Date::new_0();
    (d.get_full_year() as i32, d.get_month() + 1, d.get_date())
}

/// Micro-degrees as `38.986500`.
pub fn degrees(e6: i64) -> String {
    let sign = if e6 < 0 { "-" } else { "" };
    let a = e6.unsigned_abs();
    format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
}
