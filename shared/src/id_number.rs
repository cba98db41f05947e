//! The resident identity number (公民身份号码, GB 11643-1999): 18 characters, a real
//! birth date in characters 7-14, and an ISO 7064 MOD 11-2 check character.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// A validated 18-character ID number. The check character is always an upper-case `X`
/// when it stands for 10.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

/// Why a string is not a valid ID number. Each variant says which rule failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters, found {found}")]
    WrongLength { found: usize },
    #[error("character {position} must be a digit (or X in the last place)")]
    InvalidCharacter { position: usize },
    #[error("birth date {date} in the ID number is not a real date")]
    InvalidBirthDate { date: String },
    #[error("check character is {found}, expected {expected}")]
    CheckDigitMismatch { expected: char, found: char },
}

impl IdNumberError {
    /// The message a user reads next to the field (zh-CN).
    pub fn message_zh(&self) -> String {
        match self {
            Self::WrongLength { found } => {
                format!("身份证号应为18位，当前为{found}位")
            }
            Self::InvalidCharacter { position } => {
                format!("身份证号第{position}位应为数字（仅最后一位可为X）")
            }
            Self::InvalidBirthDate { date } => {
                format!("身份证号中的出生日期{date}不是有效日期")
            }
            Self::CheckDigitMismatch { .. } => "身份证号校验位不正确，请核对".to_string(),
        }
    }
}

/// Sex as encoded by the 17th character (odd: male).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn label_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl IdNumber {
    /// Parses and validates; surrounding whitespace is ignored and a lower-case `x` is
    /// accepted for the check character.
    pub fn parse(input: &str) -> Result<Self, IdNumberError> {
        let s = input.trim();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(IdNumberError::WrongLength { found: chars.len() });
        }
        let mut sum = 0u32;
        for (i, c) in chars[..17].iter().enumerate() {
            let d = c
                .to_digit(10)
                .filter(|_| c.is_ascii_digit())
                .ok_or(IdNumberError::InvalidCharacter { position: i + 1 })?;
            sum += d * WEIGHTS[i];
        }
        let last = chars[17].to_ascii_uppercase();
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(IdNumberError::InvalidCharacter { position: 18 });
        }
        let digits: String = chars[..17].iter().collect();
        let year: u16 = digits[6..10].parse().expect("digits");
        let month: u8 = digits[10..12].parse().expect("digits");
        let day: u8 = digits[12..14].parse().expect("digits");
        if year < 1850 || Date::new(year, month, day).is_none() {
            return Err(IdNumberError::InvalidBirthDate {
                date: digits[6..14].to_string(),
            });
        }
        let expected = CHECK_CHARS[(sum % 11) as usize];
        if last != expected {
            return Err(IdNumberError::CheckDigitMismatch {
                expected,
                found: last,
            });
        }
        Ok(Self(format!("{digits}{last}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Date {
        let s = &self.0;
        Date {
            year: s[6..10].parse().expect("validated"),
            month: s[10..12].parse().expect("validated"),
            day: s[12..14].parse().expect("validated"),
        }
    }

    pub fn sex(&self) -> Sex {
        let d = self.0.as_bytes()[16] - b'0';
        if d % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The last four characters, as people quote them on the phone and as lists filter by.
    pub fn suffix(&self) -> &str {
        &self.0[14..]
    }

    /// The form shown in lists: region code and last four kept, birth date hidden.
    pub fn masked(&self) -> String {
        mask_id_text(&self.0)
    }
}

/// Masks any stored ID text for display in lists: keeps the first six and the last four
/// characters of an 18-character number; anything else is masked whole.
pub fn mask_id_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() == 18 {
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[14..].iter().collect();
        format!("{head}********{tail}")
    } else if chars.is_empty() {
        String::new()
    } else {
        "*".repeat(chars.len())
    }
}

impl fmt::Debug for IdNumber {
    // Never print a full ID number into logs by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdNumber {
    type Err = IdNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IdNumber {
    type Error = IdNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IdNumber> for String {
    fn from(id: IdNumber) -> String {
        id.0
    }
}

/// Builds a valid ID number from its first 17 characters by appending the check
/// character: for fixtures and demo data.
pub fn with_check_digit(first17: &str) -> Option<IdNumber> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    IdNumber::parse(&format!("{first17}{}", CHECK_CHARS[(sum % 11) as usize])).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A published sample number from GB 11643 (check character X).
    const VALID_X: &str = "11010519491231002X";

    #[test]
    fn accepts_a_valid_number_and_derives_birth_date_and_sex() {
        let id = IdNumber::parse(VALID_X).unwrap();
        assert_eq!(id.birth_date(), Date::new(1949, 12, 31).unwrap());
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.suffix(), "002X");
        assert_eq!(id.masked(), "110105********002X");
        let lower = IdNumber::parse(" 11010519491231002x ").unwrap();
        assert_eq!(lower.as_str(), VALID_X);
    }

    #[test]
    fn says_which_rule_failed() {
        assert_eq!(
            IdNumber::parse("1101051949123100").unwrap_err(),
            IdNumberError::WrongLength { found: 16 }
        );
        assert_eq!(
            IdNumber::parse("11010519491231A02X").unwrap_err(),
            IdNumberError::InvalidCharacter { position: 15 }
        );
        assert_eq!(
            IdNumber::parse("110105194912310021").unwrap_err(),
            IdNumberError::CheckDigitMismatch {
                expected: 'X',
                found: '1'
            }
        );
        // 2023-02-29 does not exist; the check digit is made right so only the date fails.
        let bad_date = "11010520230229001".to_string();
        let sum: u32 = bad_date
            .bytes()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let full = format!("{bad_date}{}", CHECK_CHARS[(sum % 11) as usize]);
        assert_eq!(
            IdNumber::parse(&full).unwrap_err(),
            IdNumberError::InvalidBirthDate {
                date: "20230229".into()
            }
        );
        assert!(IdNumber::parse("11010519491231002Y").is_err());
        assert!(IdNumber::parse("１１０１０５１９４９１２３１００２Ｘ").is_err());
    }

    #[test]
    fn leap_days_are_real_dates() {
        assert!(with_check_digit("11010520000229001").is_some());
        assert!(with_check_digit("11010519000229001").is_none());
        assert!(with_check_digit("11010520240229001").is_some());
        assert_eq!(
            with_check_digit("64020219800101001").unwrap().sex(),
            Sex::Male
        );
    }

    #[test]
    fn chinese_messages_name_the_problem() {
        assert!(IdNumberError::WrongLength { found: 5 }
            .message_zh()
            .contains("18位"));
        assert!(IdNumberError::CheckDigitMismatch {
            expected: '1',
            found: '2'
        }
        .message_zh()
        .contains("校验位"));
    }

    #[test]
    fn debug_never_prints_the_full_number() {
        let id = IdNumber::parse(VALID_X).unwrap();
        assert!(!format!("{id:?}").contains("19491231"));
    }
}
