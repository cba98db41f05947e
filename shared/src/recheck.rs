//! Periodic re-checks of active recipients (动态管理/动态复核): the configurable re-check
//! categories, the next due date and whether a re-check is upcoming, due or overdue.
//!
//! Rules:
//! - Each active case has a category; its code maps to an interval in months through a
//!   [`RecheckPolicy`] the bureau configures. The default policy is the common practice
//!   (DOMAIN.md): stable households yearly (12), unstable income half-yearly (6),
//!   working-age members with labour capacity quarterly (3).
//! - The next re-check is due `months` calendar months after the last one, on the same
//!   day of the month, or on the month's last day when that month is shorter:
//!   2024-01-31 + 1 month = 2024-02-29, 2024-02-29 + 12 months = 2025-02-28.
//! - On the due day a case is "due today"; after it, "overdue" by the days since; before
//!   it, "upcoming" in the days until. Dates are calendar dates (the caller passes today's
//!   date in the district's time zone, Beijing time).

use serde::{Deserialize, Serialize};

use crate::calendar::{add_months, days_between};
use crate::id_number::Date;

/// One re-check category: a stable code (stored in cases), its Chinese name, its interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckCategory {
    pub code: String,
    pub label_zh: String,
    pub months: u32,
}

/// The re-check categories in force: category code → interval in months.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckPolicy {
    pub categories: Vec<RecheckCategory>,
}

/// Category code of stable households (re-checked yearly by default).
pub const STABLE: &str = "stable";
/// Category code of households with unstable income (half-yearly by default).
pub const UNSTABLE_INCOME: &str = "unstable_income";
/// Category code of households with working-age members able to work (quarterly).
pub const WORKING_AGE: &str = "working_age";

impl Default for RecheckPolicy {
    fn default() -> Self {
        let category = |code: &str, label: &str, months| RecheckCategory {
            code: code.to_string(),
            label_zh: label.to_string(),
            months,
        };
        Self {
            categories: vec![
                category(STABLE, "收入稳定（每年复核）", 12),
                category(UNSTABLE_INCOME, "收入不稳定（每半年复核）", 6),
                category(WORKING_AGE, "有劳动能力的适龄人员（每季度复核）", 3),
            ],
        }
    }
}

impl RecheckPolicy {
    /// The category of a code, if the policy has it.
    pub fn category(&self, code: &str) -> Option<&RecheckCategory> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The interval in months of a category code, if the policy has it.
    pub fn months_for(&self, code: &str) -> Option<u32> {
        self.category(code).map(|c| c.months)
    }

    /// When a case of category `code` last checked on `last_check` is next due; `None`
    /// for a code the policy does not know (the UI then asks for a category).
    pub fn next_due_for(&self, code: &str, last_check: Date) -> Option<Date> {
        self.months_for(code).map(|m| next_due(last_check, m))
    }
}

/// The date a re-check is due `months` months after `last_check` (month-end clamped).
/// Saturates at the last representable date (year 65535), which no real case reaches.
pub fn next_due(last_check: Date, months: u32) -> Date {
    add_months(last_check, months).unwrap_or(Date {
        year: u16::MAX,
        month: 12,
        day: 31,
    })
}

/// Where a re-check stands relative to today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DueStatus {
    /// Due in `days` days (at least 1).
    Upcoming {
        days: u32,
    },
    DueToday,
    /// Due `days` days ago (at least 1).
    Overdue {
        days: u32,
    },
}

impl DueStatus {
    /// What a list shows next to the case (zh-CN).
    pub fn label_zh(self) -> String {
        match self {
            DueStatus::Upcoming { days } => format!("{days}天后到期"),
            DueStatus::DueToday => "今天到期".to_string(),
            DueStatus::Overdue { days } => format!("已逾期{days}天"),
        }
    }

    pub fn is_overdue(self) -> bool {
        matches!(self, DueStatus::Overdue { .. })
    }
}

/// Whether a re-check due on `due` is upcoming, due today or overdue on `today`.
pub fn due_status(due: Date, today: Date) -> DueStatus {
    let days = days_between(today, due);
    let magnitude = u32::try_from(days.unsigned_abs()).unwrap_or(u32::MAX);
    match days {
        0 => DueStatus::DueToday,
        d if d > 0 => DueStatus::Upcoming { days: magnitude },
        _ => DueStatus::Overdue { days: magnitude },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn default_policy_is_yearly_half_yearly_quarterly() {
        let policy = RecheckPolicy::default();
        assert_eq!(policy.months_for(STABLE), Some(12));
        assert_eq!(policy.months_for(UNSTABLE_INCOME), Some(6));
        assert_eq!(policy.months_for(WORKING_AGE), Some(3));
        assert_eq!(policy.months_for("unknown"), None);
        assert_eq!(
            policy.category(WORKING_AGE).unwrap().label_zh,
            "有劳动能力的适龄人员（每季度复核）"
        );
    }

    #[test]
    fn due_dates_per_category_across_month_ends_and_leap_years() {
        let policy = RecheckPolicy::default();
        let last = d(2024, 2, 29);
        assert_eq!(policy.next_due_for(STABLE, last), Some(d(2025, 2, 28)));
        assert_eq!(
            policy.next_due_for(UNSTABLE_INCOME, last),
            Some(d(2024, 8, 29))
        );
        assert_eq!(policy.next_due_for(WORKING_AGE, last), Some(d(2024, 5, 29)));
        assert_eq!(policy.next_due_for("unknown", last), None);

        let last = d(2023, 11, 30);
        assert_eq!(policy.next_due_for(WORKING_AGE, last), Some(d(2024, 2, 29)));
        assert_eq!(
            policy.next_due_for(UNSTABLE_INCOME, last),
            Some(d(2024, 5, 30))
        );
        assert_eq!(policy.next_due_for(STABLE, last), Some(d(2024, 11, 30)));

        let last = d(2024, 8, 31);
        assert_eq!(
            policy.next_due_for(UNSTABLE_INCOME, last),
            Some(d(2025, 2, 28))
        );
        assert_eq!(
            policy.next_due_for(WORKING_AGE, last),
            Some(d(2024, 11, 30))
        );
        assert_eq!(policy.next_due_for(STABLE, last), Some(d(2025, 8, 31)));

        assert_eq!(next_due(d(2023, 1, 31), 1), d(2023, 2, 28));
        assert_eq!(next_due(d(2024, 1, 31), 1), d(2024, 2, 29));
        assert_eq!(next_due(d(2099, 12, 31), 3), d(2100, 3, 31));
        assert_eq!(next_due(d(2099, 11, 30), 3), d(2100, 2, 28));
    }

    #[test]
    fn a_policy_may_change_an_interval() {
        let mut policy = RecheckPolicy::default();
        policy.categories[0].months = 24;
        assert_eq!(
            policy.next_due_for(STABLE, d(2024, 2, 29)),
            Some(d(2026, 2, 28))
        );
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            serde_json::from_str::<RecheckPolicy>(&json).unwrap(),
            policy
        );
    }

    #[test]
    fn due_status_counts_calendar_days() {
        let due = d(2024, 3, 1);
        assert_eq!(
            due_status(due, d(2024, 2, 28)),
            DueStatus::Upcoming { days: 2 }
        );
        assert_eq!(
            due_status(due, d(2024, 2, 29)),
            DueStatus::Upcoming { days: 1 }
        );
        assert_eq!(due_status(due, d(2024, 3, 1)), DueStatus::DueToday);
        assert_eq!(
            due_status(due, d(2024, 3, 2)),
            DueStatus::Overdue { days: 1 }
        );
        assert_eq!(
            due_status(due, d(2025, 3, 1)),
            DueStatus::Overdue { days: 365 }
        );
        assert_eq!(
            due_status(d(2023, 3, 1), d(2023, 2, 28)),
            DueStatus::Upcoming { days: 1 }
        );
        assert!(due_status(due, d(2024, 3, 2)).is_overdue());
        assert!(!due_status(due, d(2024, 3, 1)).is_overdue());
    }

    #[test]
    fn due_status_reads_in_chinese() {
        assert_eq!(DueStatus::Upcoming { days: 5 }.label_zh(), "5天后到期");
        assert_eq!(DueStatus::DueToday.label_zh(), "今天到期");
        assert_eq!(DueStatus::Overdue { days: 12 }.label_zh(), "已逾期12天");
    }
}
