//! Money as people type and read it (元 with up to two decimals) and as the record keeps it
//! (integer 分, `i64`). No floating point anywhere: "0.1 + 0.2" is exactly 30 fen.

/// The largest amount [`parse_yuan`] accepts, in fen (100 亿元); sums over a household stay
/// far from `i64` overflow.
pub const MAX_FEN: i64 = crate::case::MAX_AMOUNT_FEN;

/// Why a text is not an amount. The `Display` text is the Chinese message shown next to
/// the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("请填写金额")]
    Empty,
    #[error("金额不能为负数")]
    Negative,
    #[error("金额只能包含数字和小数点，例如 1234.50")]
    NotANumber,
    #[error("金额最多保留两位小数（精确到分）")]
    TooManyDecimals,
    #[error("金额过大，请核对")]
    TooLarge,
}

impl MoneyError {
    /// The message a user reads next to the field (zh-CN).
    pub fn message_zh(&self) -> String {
        self.to_string()
    }
}

/// Full-width digits and punctuation (what a Chinese IME often types) as ASCII.
fn to_ascii(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '．' | '。' => '.',
        '，' => ',',
        '－' => '-',
        other => other,
    }
}

/// Parses an amount in yuan: `"1234.5"` → 123 450 fen. Accepts surrounding blanks, a
/// leading `¥`/`￥`, a trailing `元`, full-width digits, and thousands separators in their
/// proper places (`"1,234.50"`); at most two decimals; not negative; at most [`MAX_FEN`].
pub fn parse_yuan(text: &str) -> Result<i64, MoneyError> {
    let s: String = text.trim().chars().map(to_ascii).collect();
    let s = s.trim_start_matches(['¥', '￥']).trim();
    let s = s.strip_suffix('元').unwrap_or(s).trim();
    if s.is_empty() {
        return Err(MoneyError::Empty);
    }
    let s = match s.strip_prefix('-') {
        Some(rest) => {
            return if rest.chars().any(|c| c.is_ascii_digit()) {
                Err(MoneyError::Negative)
            } else {
                Err(MoneyError::NotANumber)
            }
        }
        None => s.strip_prefix('+').unwrap_or(s),
    };
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = strip_grouping(int_part)?;
    let frac = frac_part.unwrap_or("");
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(MoneyError::NotANumber);
    }
    if digits.is_empty() && frac.is_empty() {
        return Err(MoneyError::NotANumber);
    }
    if frac.len() > 2 {
        return Err(MoneyError::TooManyDecimals);
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 15 {
        return Err(MoneyError::TooLarge);
    }
    let yuan: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| MoneyError::NotANumber)?
    };
    let mut fen_part: i64 = 0;
    for (i, c) in frac.chars().enumerate() {
        let d = i64::from(c.to_digit(10).unwrap_or(0));
        fen_part += d * if i == 0 { 10 } else { 1 };
    }
    let fen = yuan
        .checked_mul(100)
        .and_then(|f| f.checked_add(fen_part))
        .ok_or(MoneyError::TooLarge)?;
    if fen > MAX_FEN {
        return Err(MoneyError::TooLarge);
    }
    Ok(fen)
}

/// The integer part's digits with thousands separators removed; a separator must sit
/// between groups of exactly three digits (so `"1,2"` is refused, not read as 12).
fn strip_grouping(int_part: &str) -> Result<String, MoneyError> {
    if !int_part.contains(',') {
        return if int_part.chars().all(|c| c.is_ascii_digit()) {
            Ok(int_part.to_string())
        } else {
            Err(MoneyError::NotANumber)
        };
    }
    let groups: Vec<&str> = int_part.split(',').collect();
    let first_ok = matches!(groups[0].len(), 1..=3);
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    let digits_ok = groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()));
    if first_ok && rest_ok && digits_ok {
        Ok(groups.concat())
    } else {
        Err(MoneyError::NotANumber)
    }
}

/// Fen as yuan text with two decimals and no grouping, e.g. `123450` → `"1234.50"`; what an
/// input field shows (and [`parse_yuan`] reads back to the same value).
pub fn format_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Fen for reading: thousands grouped and `元` appended, e.g. `123450` → `"1,234.50元"`.
pub fn format_fen_zh(fen: i64) -> String {
    let plain = format_fen(fen);
    let (sign, body) = match plain.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", plain.as_str()),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{frac}元")
}

/// An area in 0.01 m² from text in m² (`"42.5"` → 4250), with the same rules as
/// [`parse_yuan`] (two decimals, not negative). Errors read as amounts; callers that show
/// an area message map them.
pub fn parse_m2(text: &str) -> Result<i64, MoneyError> {
    parse_yuan(
        text.trim()
            .trim_end_matches(['㎡'])
            .trim_end_matches("平方米"),
    )
}

/// An area in 0.01 m² as m² text (`4250` → `"42.50"`).
pub fn format_m2x100(m2x100: i64) -> String {
    format_fen(m2x100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_becomes_exact_fen() {
        assert_eq!(parse_yuan("1234.5"), Ok(123_450));
        assert_eq!(parse_yuan("1234.56"), Ok(123_456));
        assert_eq!(parse_yuan("1234"), Ok(123_400));
        assert_eq!(parse_yuan("0.1"), Ok(10));
        assert_eq!(parse_yuan("0.01"), Ok(1));
        assert_eq!(parse_yuan(".5"), Ok(50));
        assert_eq!(parse_yuan("5."), Ok(500));
        assert_eq!(parse_yuan("007.07"), Ok(707));
        assert_eq!(parse_yuan(" ¥1,234,567.89元 "), Ok(123_456_789));
        assert_eq!(parse_yuan("１２３４．５"), Ok(123_450));
        assert_eq!(parse_yuan("0"), Ok(0));
        // The float trap: 0.1 + 0.2 in fen is exactly 30.
        assert_eq!(parse_yuan("0.1").unwrap() + parse_yuan("0.2").unwrap(), 30);
        // 19.99 is 1999 fen, not 1998 (as a float multiplication could give).
        assert_eq!(parse_yuan("19.99"), Ok(1_999));
        assert_eq!(parse_yuan("1.005"), Err(MoneyError::TooManyDecimals));
    }

    #[test]
    fn bad_text_is_refused_with_a_chinese_reason() {
        assert_eq!(parse_yuan(""), Err(MoneyError::Empty));
        assert_eq!(parse_yuan("  元"), Err(MoneyError::Empty));
        assert_eq!(parse_yuan("-5"), Err(MoneyError::Negative));
        assert_eq!(parse_yuan("abc"), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("1.2.3"), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("1,2"), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("12,34.5"), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("."), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("1e5"), Err(MoneyError::NotANumber));
        assert_eq!(
            parse_yuan("99999999999999999999"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(parse_yuan("10000000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(parse_yuan("10000000000"), Ok(MAX_FEN));
        assert_eq!(MoneyError::Negative.message_zh(), "金额不能为负数");
        assert!(MoneyError::TooManyDecimals.to_string().contains("两位小数"));
    }

    #[test]
    fn fen_formats_back_to_text_that_parses_to_the_same_amount() {
        assert_eq!(format_fen(123_450), "1234.50");
        assert_eq!(format_fen(1), "0.01");
        assert_eq!(format_fen(0), "0.00");
        assert_eq!(format_fen(-1_005), "-10.05");
        assert_eq!(format_fen_zh(123_456_789), "1,234,567.89元");
        assert_eq!(format_fen_zh(99_900), "999.00元");
        assert_eq!(format_fen_zh(-100_000), "-1,000.00元");
        for fen in [0, 1, 9, 10, 99, 100, 123_450, MAX_FEN] {
            assert_eq!(parse_yuan(&format_fen(fen)), Ok(fen));
            assert_eq!(parse_yuan(&format_fen_zh(fen)), Ok(fen));
        }
        assert_eq!(parse_m2("42.5㎡"), Ok(4_250));
        assert_eq!(format_m2x100(4_250), "42.50");
    }
}
