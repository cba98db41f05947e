//! The case ledger (台账) and the statistics as files a bureau opens in Excel: CSV (UTF-8
//! with a byte order mark, so Excel reads the Chinese right; CRLF lines; RFC 4180
//! quoting) and XLSX (`rust_xlsxwriter`). Pure: rows in, bytes out.
//!
//! ID numbers: bureau staff (民政局) export them in full — the bureau decides on
//! applications and matches them against other registers; every other role gets the
//! masked form (`110105********002X`). Either way the export is audited. Times are
//! Beijing time (UTC+8, no daylight saving), as staff read them; money is yuan with two
//! decimals (a number in XLSX, text `1234.50` in CSV).

use hecha_shared::api::{AssistanceCount, VisitCount};
use hecha_shared::case::{Area, AssistanceType, CaseStatus, HardshipCause, Origin};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::db::cases::LedgerRow;

/// The ledger's column headers, in order.
pub(crate) const LEDGER_HEADERS: [&str; 22] = [
    "序号",
    "所属单位",
    "社区",
    "申请人",
    "身份证号",
    "性别",
    "年龄",
    "家庭人口",
    "城乡",
    "来源",
    "救助类型",
    "致困原因",
    "家庭年收入(元)",
    "家庭月人均收入(元)",
    "状态",
    "核查员",
    "入户时间",
    "签字时间",
    "签字后修改",
    "未解决冲突",
    "创建时间",
    "更新时间",
];

/// The sheet name of the XLSX ledger.
pub(crate) const LEDGER_SHEET: &str = "案件台账";

/// Headers of the statistics export by unit × assistance type × status.
pub(crate) const ASSISTANCE_HEADERS: [&str; 8] = [
    "所属单位",
    "救助类型",
    "状态",
    "户数",
    "人数",
    "家庭年收入合计(元)",
    "户均月人均收入(元)",
    "单位代码",
];
pub(crate) const ASSISTANCE_SHEET: &str = "救助统计";

/// Headers of the visits-per-verifier export.
pub(crate) const VISIT_HEADERS: [&str; 5] = ["月份", "所属单位", "核查员", "用户名", "入户次数"];
pub(crate) const VISIT_SHEET: &str = "入户统计";

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

/// One cell of an export row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(String),
    Number(f64),
    /// Money in fen: a number of yuan in XLSX, `123.45` in CSV.
    Fen(i64),
}

/// Yuan with two decimals for fen (`-` sign kept).
pub(crate) fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn sex_label(code: &str) -> &'static str {
    match code {
        "male" => "男",
        "female" => "女",
        _ => "",
    }
}

pub(crate) fn assistance_label(code: &str) -> String {
    if code.is_empty() {
        "未选择".to_string()
    } else {
        AssistanceType::label_of(code).to_string()
    }
}

fn joined(codes: &[String], label: fn(&str) -> &str) -> String {
    codes
        .iter()
        .map(|c| label(c))
        .collect::<Vec<_>>()
        .join("、")
}

fn optional_label(code: &str, label: fn(&str) -> &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        label(code).to_string()
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "是"
    } else {
        "否"
    }
}

fn optional_time(ms: Option<i64>) -> String {
    ms.map(beijing_time).unwrap_or_default()
}

/// One ledger row as cells (the 序号 is `number`); `full_ids`: the whole ID number.
pub(crate) fn ledger_cells(number: usize, ledger: &LedgerRow, full_ids: bool) -> Vec<Cell> {
    let row = &ledger.row;
    let t = |s: &str| Cell::Text(s.to_string());
    let id = if full_ids && !ledger.id_number.is_empty() {
        &ledger.id_number
    } else {
        &row.id_masked
    };
    vec![
        Cell::Number(number as f64),
        t(&row.unit_name),
        t(&row.community),
        t(&row.applicant_name),
        t(id),
        t(sex_label(&row.sex)),
        row.age.map_or(t(""), |a| Cell::Number(f64::from(a))),
        Cell::Number(f64::from(row.member_count)),
        Cell::Text(optional_label(&row.area, Area::label_of)),
        Cell::Text(optional_label(&row.origin, Origin::label_of)),
        Cell::Text(joined(&row.assistance, AssistanceType::label_of)),
        Cell::Text(joined(&row.hardship, HardshipCause::label_of)),
        Cell::Fen(row.annual_income_fen),
        Cell::Fen(row.per_capita_fen),
        Cell::Text(status_label(&row.status)),
        t(row.verifier_name.as_deref().unwrap_or("")),
        Cell::Text(optional_time(row.visit_at_ms)),
        Cell::Text(optional_time(row.signed_at_ms)),
        t(yes_no(row.changed_after_signing)),
        t(yes_no(row.open_conflicts)),
        Cell::Text(beijing_time(row.created_at_ms)),
        Cell::Text(beijing_time(row.updated_at_ms)),
    ]
}

/// One statistics cell as export cells.
pub(crate) fn assistance_cells(c: &AssistanceCount) -> Vec<Cell> {
    let mean = if c.households > 0 {
        c.per_capita_fen_sum / i64::try_from(c.households).unwrap_or(i64::MAX)
    } else {
        0
    };
    vec![
        Cell::Text(c.unit_name.clone()),
        Cell::Text(assistance_label(&c.assistance)),
        Cell::Text(status_label(&c.status)),
        Cell::Number(c.households as f64),
        Cell::Number(c.persons as f64),
        Cell::Fen(c.annual_income_fen),
        Cell::Fen(mean),
        Cell::Text(c.unit.to_string()),
    ]
}

pub(crate) fn visit_cells(v: &VisitCount) -> Vec<Cell> {
    vec![
        Cell::Text(v.month.clone()),
        Cell::Text(v.unit_name.clone()),
        Cell::Text(v.display_name.clone().unwrap_or_else(|| "（未知）".into())),
        Cell::Text(v.username.clone().unwrap_or_default()),
        Cell::Number(v.visits as f64),
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

/// A table as CSV bytes: header line, then one line per row.
pub(crate) fn csv(headers: &[&str], rows: impl Iterator<Item = Vec<Cell>>) -> Vec<u8> {
    let mut text = String::with_capacity(4096);
    csv_line(&mut text, headers);
    for cells in rows {
        let fields: Vec<String> = cells
            .into_iter()
            .map(|cell| match cell {
                Cell::Text(s) => defuse(&s),
                Cell::Number(n) => n.to_string(),
                Cell::Fen(fen) => yuan(fen),
            })
            .collect();
        csv_line(&mut text, &fields);
    }
    let mut bytes = Vec::with_capacity(BOM.len() + text.len());
    bytes.extend_from_slice(BOM);
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// A table as an XLSX workbook of one sheet: a bold frozen header row with a filter,
/// numbers as numbers (money with two decimals) and every text as text (never a formula).
pub(crate) fn xlsx(
    sheet_name: &str,
    headers: &[&str],
    widths: &[f64],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name)?;
    let header = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    for (col, title) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, col, *title, &header)?;
    }
    let mut last_row = 0u32;
    for (n, cells) in (1u32..).zip(rows) {
        write_row(sheet, n, cells, &money)?;
        last_row = n;
    }
    for (col, width) in (0u16..).zip(widths) {
        sheet.set_column_width(col, *width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_col = u16::try_from(headers.len().saturating_sub(1)).unwrap_or(0);
    sheet.autofilter(0, 0, last_row, last_col)?;
    workbook.save_to_buffer()
}

fn write_row(
    sheet: &mut Worksheet,
    row: u32,
    cells: Vec<Cell>,
    money: &Format,
) -> Result<(), XlsxError> {
    for (col, cell) in (0u16..).zip(cells) {
        match cell {
            Cell::Text(s) if s.is_empty() => {}
            Cell::Text(s) => {
                sheet.write_string(row, col, s)?;
            }
            Cell::Number(n) => {
                sheet.write_number(row, col, n)?;
            }
            Cell::Fen(fen) => {
                sheet.write_number_with_format(row, col, fen as f64 / 100.0, money)?;
            }
        }
    }
    Ok(())
}

/// Column widths of the ledger sheet.
pub(crate) const LEDGER_WIDTHS: [f64; 22] = [
    6.0, 14.0, 12.0, 10.0, 21.0, 5.0, 5.0, 8.0, 6.0, 9.0, 22.0, 16.0, 14.0, 16.0, 8.0, 10.0, 17.0,
    17.0, 10.0, 10.0, 17.0, 17.0,
];
pub(crate) const ASSISTANCE_WIDTHS: [f64; 8] = [14.0, 14.0, 8.0, 8.0, 8.0, 18.0, 18.0, 12.0];
pub(crate) const VISIT_WIDTHS: [f64; 5] = [9.0, 14.0, 12.0, 16.0, 9.0];

/// The ledger as CSV bytes.
pub(crate) fn ledger_csv(rows: &[LedgerRow], full_ids: bool) -> Vec<u8> {
    csv(
        &LEDGER_HEADERS,
        rows.iter()
            .enumerate()
            .map(|(i, r)| ledger_cells(i + 1, r, full_ids)),
    )
}

/// The ledger as an XLSX workbook.
pub(crate) fn ledger_xlsx(rows: &[LedgerRow], full_ids: bool) -> Result<Vec<u8>, XlsxError> {
    xlsx(
        LEDGER_SHEET,
        &LEDGER_HEADERS,
        &LEDGER_WIDTHS,
        rows.iter()
            .enumerate()
            .map(|(i, r)| ledger_cells(i + 1, r, full_ids)),
    )
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
        assert_eq!(yuan(123_456), "1234.56");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(assistance_label("dibao"), "最低生活保障");
        assert_eq!(assistance_label("future_type"), "future_type");
    }
}
