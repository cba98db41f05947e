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
