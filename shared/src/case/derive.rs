//! Values computed from the record, never typed and never stored: birth date, sex and age
//! from an ID number; household size; annual and per-capita monthly income; asset and
//! expense totals. Exact integer arithmetic in fen; rounding is always down and said where.

use serde::{Deserialize, Serialize};

use super::codes::IncomePeriod;
use super::CaseDoc;
use crate::calendar;
use crate::id_number::{Date, IdNumber, Sex};

/// What an ID number says about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdFacts {
    pub birth_date: Date,
    pub sex: Sex,
    /// Full years on the day asked about (0 for a birth date after it).
    pub age: u32,
}

/// Birth date, sex and age on `today` from an ID number's text; `None` when the text is not
/// a valid ID number.
pub fn id_facts(id_text: &str, today: Date) -> Option<IdFacts> {
    let id = IdNumber::parse(id_text).ok()?;
    let birth_date = id.birth_date();
    Some(IdFacts {
        birth_date,
        sex: id.sex(),
        age: age_on(birth_date, today),
    })
}

/// Full years from `birth` to `today`. Someone born on 29 February turns a year older on
/// 1 March in years without that day.
pub fn age_on(birth: Date, today: Date) -> u32 {
    if today <= birth {
        return 0;
    }
    let mut years = u32::from(today.year - birth.year);
    if (today.month, today.day) < (birth.month, birth.day) {
        years = years.saturating_sub(1);
    }
    years
}

/// The calendar date in China (UTC+8, no daylight saving) at `ms` since the Unix epoch.
pub fn china_date_of_ms(ms: i64) -> Option<Date> {
    const DAY_MS: i64 = 86_400_000;
    const OFFSET_MS: i64 = 8 * 3_600_000;
    calendar::civil_from_days(ms.checked_add(OFFSET_MS)?.div_euclid(DAY_MS))
}

/// Household size: the applicant plus every member not removed.
pub fn household_size(case: &CaseDoc) -> u32 {
    case.household_size()
}

/// Whether an income item counts for the household: not removed, and not the income of a
/// member who has been removed (they are no longer part of the household).
fn counts(case: &CaseDoc, item: &super::IncomeItem) -> bool {
    !item.removed
        && (item.member.is_empty() || case.members.get(&item.member).is_none_or(|m| !m.removed))
}

/// An item's amount per year in fen: monthly × 12, annual as is. An unknown period is
/// read as monthly (the larger figure: a hint errs on the side of caution).
pub fn annual_fen(period: &str, amount_fen: i64) -> i64 {
    match IncomePeriod::from_code(period) {
        Some(IncomePeriod::Annual) => amount_fen,
        _ => amount_fen.saturating_mul(12),
    }
}

/// The household's income per year in fen: every counted item (see [`counts`]) converted
/// with [`annual_fen`] and summed.
pub fn annual_income_fen(case: &CaseDoc) -> i64 {
    case.income
        .values()
        .filter(|i| counts(case, i))
        .map(|i| annual_fen(&i.period, i.amount_fen.max(0)))
        .fold(0i64, i64::saturating_add)
}

/// Per-capita monthly income in fen: annual income / 12 / household size, rounded down
/// (one division, so no intermediate rounding).
pub fn per_capita_monthly_income_fen(case: &CaseDoc) -> i64 {
    let divisor = 12 * i64::from(household_size(case).max(1));
    annual_income_fen(case).div_euclid(divisor)
}

/// Totals of the household's assets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetTotals {
    /// Deposits + securities + commercial insurance (金融资产), fen.
    pub financial_fen: i64,
    /// Financial assets + vehicles' value + business assets, fen (houses are counted, not
    /// valued).
    pub valued_fen: i64,
    /// Deposits per household member, fen, rounded down.
    pub deposits_per_capita_fen: i64,
    /// Financial assets per household member, fen, rounded down.
    pub financial_per_capita_fen: i64,
    pub houses_count: i64,
    pub houses_area_m2x100: i64,
    pub vehicles_count: i64,
}

pub fn asset_totals(case: &CaseDoc) -> AssetTotals {
    let a = &case.assets;
    let size = i64::from(household_size(case).max(1));
    let sum = |xs: &[i64]| {
        xs.iter()
            .map(|x| (*x).max(0))
            .fold(0i64, i64::saturating_add)
    };
    let financial_fen = sum(&[a.deposits_fen, a.securities_fen, a.insurance_fen]);
    AssetTotals {
        financial_fen,
        valued_fen: sum(&[financial_fen, a.vehicles_value_fen, a.business_assets_fen]),
        deposits_per_capita_fen: a.deposits_fen.max(0).div_euclid(size),
        financial_per_capita_fen: financial_fen.div_euclid(size),
        houses_count: a.houses_count,
        houses_area_m2x100: a.houses_area_m2x100,
        vehicles_count: a.vehicles_count,
    }
}

/// Rigid expenses per year (medical + education + other), fen.
pub fn annual_expenses_fen(case: &CaseDoc) -> i64 {
    let e = &case.expenses;
    [
        e.medical_fen_annual,
        e.education_fen_annual,
        e.other_fen_annual,
    ]
    .iter()
    .map(|x| (*x).max(0))
    .fold(0i64, i64::saturating_add)
}

/// Everything derived, in one value for the UI and the server's materialised columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    pub household_size: u32,
    pub annual_income_fen: i64,
    pub per_capita_monthly_income_fen: i64,
    pub assets: AssetTotals,
    pub annual_expenses_fen: i64,
}

pub fn derive(case: &CaseDoc) -> Derived {
    Derived {
        household_size: household_size(case),
        annual_income_fen: annual_income_fen(case),
        per_capita_monthly_income_fen: per_capita_monthly_income_fen(case),
        assets: asset_totals(case),
        annual_expenses_fen: annual_expenses_fen(case),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{IncomeItem, Member};
    use crate::ids::{CaseId, UnitId};

    fn date(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    fn case() -> CaseDoc {
        CaseDoc::new_case(
            CaseId::from_random_bytes([1; 16]),
            &UnitId::new("chaoyang").unwrap(),
            0,
        )
    }

    fn income(period: &str, amount_fen: i64, member: &str, removed: bool) -> IncomeItem {
        IncomeItem {
            category: "wages".into(),
            period: period.into(),
            amount_fen,
            member: member.into(),
            removed,
            ..Default::default()
        }
    }

    #[test]
    fn birth_date_sex_and_age_come_from_the_id_number() {
        // 1949-12-31, 17th digit 2 (even): female.
        let f = id_facts("11010519491231002x", date(2026, 11, 28)).unwrap();
        assert_eq!(f.birth_date, date(1949, 12, 31));
        assert_eq!(f.sex, Sex::Female);
        assert_eq!(f.age, 76);
        assert_eq!(
            id_facts("11010519491231002X", date(2026, 12, 31))
                .unwrap()
                .age,
            77
        );
        assert_eq!(
            id_facts("11010519491231002X", date(2026, 12, 30))
                .unwrap()
                .age,
            76
        );
        // 17th digit 1 (odd): male.
        let m = id_facts("110105195001010012", date(2026, 1, 1)).unwrap();
        assert_eq!((m.sex, m.age), (Sex::Male, 76));
        assert_eq!(id_facts("110105194912310021", date(2026, 1, 1)), None);
        assert_eq!(id_facts("", date(2026, 1, 1)), None);
    }

    #[test]
    fn a_leap_day_birthday_and_a_future_birth_date() {
        let born = date(2000, 2, 29);
        assert_eq!(age_on(born, date(2001, 2, 28)), 0);
        assert_eq!(age_on(born, date(2001, 3, 1)), 1);
        assert_eq!(age_on(born, date(2004, 2, 29)), 4);
        assert_eq!(age_on(born, date(1999, 1, 1)), 0);
    }

    #[test]
    fn the_china_date_turns_at_midnight_utc_plus_8() {
        // 2026-11-27T15:59:59.999Z is 23:59:59.999 in Beijing; one ms later it is the 28th.
        let ms = 1_795_795_199_999;
        assert_eq!(china_date_of_ms(ms), Some(date(2026, 11, 27)));
        assert_eq!(china_date_of_ms(ms + 1), Some(date(2026, 11, 28)));
    }

    #[test]
    fn income_is_annualised_exactly_and_divided_per_person_rounding_down() {
        let mut c = case();
        for (id, removed) in [("m1", false), ("m2", false), ("gone", true)] {
            c.members.insert(
                id.into(),
                Member {
                    removed,
                    ..Default::default()
                },
            );
        }
        assert_eq!(household_size(&c), 3);
        c.income
            .insert("a".into(), income("monthly", 100_001, "", false)); // 1000.01 元/月
        c.income
            .insert("b".into(), income("annual", 1_200_000, "m1", false)); // 12000 元/年
        c.income
            .insert("c".into(), income("monthly", 999_999, "", true)); // removed item
        c.income
            .insert("d".into(), income("monthly", 50_000, "gone", false)); // removed member
        assert_eq!(annual_income_fen(&c), 100_001 * 12 + 1_200_000);
        // 2 400 012 fen / 12 / 3 = 66 667.0 → exactly 66 667 fen; one fen less a year:
        assert_eq!(per_capita_monthly_income_fen(&c), 66_667);
        c.income.get_mut("b").unwrap().amount_fen -= 1;
        assert_eq!(per_capita_monthly_income_fen(&c), 66_666);
        let empty = case();
        assert_eq!(per_capita_monthly_income_fen(&empty), 0);
        assert_eq!(derive(&empty).household_size, 1);
    }

    #[test]
    fn asset_and_expense_totals() {
        let mut c = case();
        c.members.insert("m1".into(), Member::default());
        c.assets.deposits_fen = 1_000_001;
        c.assets.securities_fen = 20;
        c.assets.insurance_fen = 300;
        c.assets.vehicles_value_fen = 4_000;
        c.assets.business_assets_fen = 50_000;
        c.assets.houses_count = 1;
        let t = asset_totals(&c);
        assert_eq!(t.financial_fen, 1_000_321);
        assert_eq!(t.valued_fen, 1_054_321);
        assert_eq!(t.deposits_per_capita_fen, 500_000);
        assert_eq!(t.financial_per_capita_fen, 500_160);
        assert_eq!(t.houses_count, 1);
        c.expenses.medical_fen_annual = 1;
        c.expenses.education_fen_annual = 2;
        c.expenses.other_fen_annual = 3;
        assert_eq!(annual_expenses_fen(&c), 6);
    }
}
