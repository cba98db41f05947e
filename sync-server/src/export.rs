//! The case ledger (台账) as files a bureau opens in Excel: CSV (UTF-8 with a byte order
//! mark, so Excel reads the Chinese right; CRLF lines; RFC 4180 quoting) and XLSX
//! (`rust_xlsxwriter`). Pure: rows in, bytes out.
//!
//! ID numbers are the ledger's masked ones (`110105********002X`); no role exports full
//! ID numbers yet. Times are Beijing time (UTC+8, no daylight saving), as staff read them.

use hecha_shared::api::CaseRow;
use hecha_shared::case::CaseStatus;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The ledger's column headers, in order.
pub(crate) const LEDGER_HEADERS: [&str; 7] = [
    "序号",
    "所属单位",
    "申请人",
    "身份证号",
    "家庭人口",
    "状态",
    "更新时间",
];

/// The sheet name of the XLSX ledger.
pub(crate) const LEDGER_SHEET: &str = "案件台账";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A status code as people read it (unknown codes as they are).
pub(crate) fn status_label(code: &str) -> String {
    CaseStatus::from_code(code)
        .map(|s| s.label_zh().to_string())
        .unwrap_or_else(|| code.to_string())
}

/// `YYYY-MM-DD HH:MM` in Beijing time for milliseconds since the Unix epoch.
pub(crate) fn beijing_time(ms: i64) -> String {
    let seconds = ms.div_euclid(1000) + 8 * 3600;
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        in_day / 3600,
        in_day % 3600 / 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One ledger row as the text of its cells (the 序号 is `number`).
fn cells(number: usize, row: &CaseRow) -> [String; 7] {
    [
        number.to_string(),
        row.unit_name.clone(),
        row.applicant_name.clone(),
        row.id_masked.clone(),
        row.member_count.to_string(),
        status_label(&row.status),
        beijing_time(row.updated_at_ms),
    ]
}

/// A text cell made safe for spreadsheets: text a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab, CR first) gets a leading apostrophe.
fn defuse(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

fn csv_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

fn csv_line<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, field.as_ref());
    }
    out.push_str("\r\n");
}

/// The ledger as CSV bytes.
pub(crate) fn ledger_csv(rows: &[CaseRow]) -> Vec<u8> {
    let mut text = String::with_capacity(64 * (rows.len() + 1));
    csv_line(&mut text, &LEDGER_HEADERS);
    for (i, row) in rows.iter().enumerate() {
        let mut fields = cells(i + 1, row);
        for field in &mut fields[1..4] {
            *field = defuse(field);
        }
        csv_line(&mut text, &fields);
    }
    let mut bytes = Vec::with_capacity(BOM.len() + text.len());
    bytes.extend_from_slice(BOM);
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// The ledger as an XLSX workbook: one sheet, a bold frozen header row with a filter,
/// numbers as numbers and every text as text (never a formula).
pub(crate) fn ledger_xlsx(rows: &[CaseRow]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(LEDGER_SHEET)?;
    let header = Format::new().set_bold();
    for (col, title) in (0u16..).zip(LEDGER_HEADERS) {
        sheet.write_string_with_format(0, col, title, &header)?;
    }
    for (n, row) in (1u32..).zip(rows) {
        let [_, unit, name, id, _, status, updated] = cells(n as usize, row);
        sheet.write_number(n, 0, f64::from(n))?;
        sheet.write_string(n, 1, unit)?;
        sheet.write_string(n, 2, name)?;
        sheet.write_string(n, 3, id)?;
        sheet.write_number(n, 4, f64::from(row.member_count))?;
        sheet.write_string(n, 5, status)?;
        sheet.write_string(n, 6, updated)?;
    }
    for (col, width) in (0u16..).zip([6.0, 14.0, 12.0, 22.0, 9.0, 8.0, 18.0]) {
        sheet.set_column_width(col, width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_row = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    sheet.autofilter(0, 0, last_row, 6)?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_beijing_time() {
        assert_eq!(beijing_time(0), "1970-01-01 08:00");
        // 2023-11-14 22:13:20 UTC is the next morning in Beijing.
        assert_eq!(beijing_time(1_700_000_000_000), "2023-11-15 06:13");
        assert_eq!(
            beijing_time(951_782_400_000 - 8 * 3_600_000),
            "2000-02-29 00:00"
        );
        assert_eq!(beijing_time(-8 * 3_600_000 - 60_000), "1969-12-31 23:59");
    }

    #[test]
    fn csv_quotes_and_defuses_text() {
        let mut line = String::new();
        csv_line(&mut line, &["a,b", "say \"hi\"", "plain", "two\nlines"]);
        assert_eq!(line, "\"a,b\",\"say \"\"hi\"\"\",plain,\"two\nlines\"\r\n");
        assert_eq!(defuse("=1+1"), "'=1+1");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("王秀兰"), "王秀兰");
        assert_eq!(status_label("applied"), "申请");
        assert_eq!(status_label("later_status"), "later_status");
    }
}
