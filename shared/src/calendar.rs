//! Calendar arithmetic on [`Date`] (proleptic Gregorian, no time zone): days between two
//! dates, adding days, adding months with month-end clamping. Pure; callers pass "today".
//!
//! Day counting uses the civil-days algorithm (days since 1970-01-01 from year, month and
//! day, computed by eras of 400 years, each exactly 146 097 days), so it is exact for every
//! date a `Date` can hold, including leap years and century rules (1900 is not a leap
//! year, 2000 is).

use crate::id_number::{days_in_month, Date};

/// Days from 1970-01-01 to `date` (negative before it).
pub fn days_from_civil(date: Date) -> i64 {
    let month = i64::from(date.month);
    let day = i64::from(date.day);
    // Years start in March so that the leap day is the last day of the "year".
    let year = i64::from(date.year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400; // 0..=399
    let shifted_month = (month + 9) % 12; // March = 0 .. February = 11
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` days after 1970-01-01, or `None` outside the years a `Date` holds
/// (0..=65535).
pub fn civil_from_days(days: i64) -> Option<Date> {
    let z = days.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097; // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Date::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

/// `to - from` in days: positive when `to` is later.
pub fn days_between(from: Date, to: Date) -> i64 {
    days_from_civil(to) - days_from_civil(from)
}

/// The date `days` days after `date` (before it when negative); `None` when that falls
/// outside the years a `Date` holds.
pub fn add_days(date: Date, days: i64) -> Option<Date> {
    civil_from_days(days_from_civil(date).checked_add(days)?)
}

/// The same day `months` months later; when that month is shorter, its last day
/// (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year). `None` past year 65535.
pub fn add_months(date: Date, months: u32) -> Option<Date> {
    let index = u64::from(date.year) * 12 + u64::from(date.month - 1) + u64::from(months);
    let year = u16::try_from(index / 12).ok()?;
    let month = (index % 12) as u8 + 1;
    let day = date.day.min(days_in_month(year, month));
    Date::new(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn day_numbers_of_known_dates() {
        assert_eq!(days_from_civil(d(1970, 1, 1)), 0);
        assert_eq!(days_from_civil(d(1969, 12, 31)), -1);
        assert_eq!(days_from_civil(d(2000, 3, 1)), 11_017);
        // 2024-01-01 is 19 723 days after the epoch (1 704 067 200 s / 86 400).
        assert_eq!(days_from_civil(d(2024, 1, 1)), 19_723);
        assert_eq!(days_from_civil(d(0, 3, 1)), -719_468);
    }

    #[test]
    fn every_day_over_centuries_round_trips_and_is_consecutive() {
        // 1899-01-01 .. 2101-12-31 covers 1900 (not leap), 2000 (leap), 2100 (not leap).
        let mut date = d(1899, 1, 1);
        let mut n = days_from_civil(date);
        while date < d(2102, 1, 1) {
            assert_eq!(civil_from_days(n), Some(date));
            let next = add_days(date, 1).unwrap();
            assert_eq!(days_from_civil(next), n + 1);
            assert!(next > date);
            date = next;
            n += 1;
        }
    }

    #[test]
    fn days_between_counts_leap_days() {
        assert_eq!(days_between(d(2024, 2, 28), d(2024, 3, 1)), 2);
        assert_eq!(days_between(d(2023, 2, 28), d(2023, 3, 1)), 1);
        assert_eq!(days_between(d(1900, 2, 28), d(1900, 3, 1)), 1);
        assert_eq!(days_between(d(2000, 2, 28), d(2000, 3, 1)), 2);
        assert_eq!(days_between(d(2024, 1, 1), d(2025, 1, 1)), 366);
        assert_eq!(days_between(d(2025, 1, 1), d(2024, 1, 1)), -366);
    }

    #[test]
    fn adding_months_clamps_to_the_month_end() {
        assert_eq!(add_months(d(2023, 1, 31), 1), Some(d(2023, 2, 28)));
        assert_eq!(add_months(d(2024, 1, 31), 1), Some(d(2024, 2, 29)));
        assert_eq!(add_months(d(2024, 2, 29), 12), Some(d(2025, 2, 28)));
        assert_eq!(add_months(d(2024, 2, 29), 48), Some(d(2028, 2, 29)));
        assert_eq!(add_months(d(2023, 11, 30), 3), Some(d(2024, 2, 29)));
        assert_eq!(add_months(d(2024, 8, 31), 1), Some(d(2024, 9, 30)));
        assert_eq!(add_months(d(2024, 12, 15), 1), Some(d(2025, 1, 15)));
        assert_eq!(add_months(d(2024, 5, 10), 0), Some(d(2024, 5, 10)));
        assert_eq!(add_months(d(65535, 12, 1), 1), None);
    }

    #[test]
    fn out_of_range_days_are_none() {
        assert_eq!(civil_from_days(i64::MAX), None);
        assert_eq!(add_days(d(0, 1, 1), -1), None);
    }
}
