//! The bureau's 低保 standards (a monthly amount per person for each year and urban/rural
//! area) and asset rules, and the hint that compares a household with them.
//!
//! The figures are configuration the bureau edits (the server's config file, served at
//! `GET /api/v1/standards` and cached by the app); nothing here hard-codes a standard.
//! [`Standards::demo`] is an example to start a config from, not a rule.
//!
//! The [`Hint`] is a hint for people, never a decision: it says what the record's figures
//! are beside the configured standard and why, in Chinese, and leaves the judgement to the
//! investigators and reviewers.

use serde::{Deserialize, Serialize};

use crate::case::{derive, Area, CaseDoc};
use crate::money::format_fen_zh;

/// One published monthly standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DibaoStandard {
    pub year: i32,
    /// `"urban"` or `"rural"` in JSON/TOML.
    pub area: Area,
    /// Per person per month, in fen (分).
    pub monthly_fen: i64,
}

/// Asset limits beyond which a household is normally not eligible (`None`: no limit set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRules {
    #[serde(default)]
    pub max_deposits_per_capita_fen: Option<i64>,
    #[serde(default)]
    pub max_houses: Option<i64>,
    #[serde(default)]
    pub max_vehicles: Option<i64>,
}

/// The standards of a district (JSON and TOML friendly: plain tables and arrays).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standards {
    #[serde(default)]
    pub dibao: Vec<DibaoStandard>,
    #[serde(default)]
    pub asset_rules: AssetRules,
}

/// Why a set of standards cannot be meant (checked when a config is loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandardsError {
    #[error("standard {year} {area}: monthly_fen must be positive")]
    NotPositive { year: i32, area: &'static str },
    #[error("standard year {0} is out of range 2000..=2100")]
    Year(i32),
    #[error("standard {year} {area} is given twice")]
    Duplicate { year: i32, area: &'static str },
    #[error("asset_rules.{0} must not be negative")]
    NegativeLimit(&'static str),
}

impl Standards {
    /// An EXAMPLE of what a bureau configures: figures of the order a prefecture-level city
    /// published for 2025–2026. A deployment replaces them with its own in the server's
    /// config; the app never falls back to these.
    pub fn demo() -> Self {
        let s = |year, area, monthly_fen| DibaoStandard {
            year,
            area,
            monthly_fen,
        };
        Standards {
            dibao: vec![
                s(2025, Area::Urban, 95_000),
                s(2025, Area::Rural, 75_000),
                s(2026, Area::Urban, 98_000),
                s(2026, Area::Rural, 78_000),
            ],
            asset_rules: AssetRules {
                max_deposits_per_capita_fen: Some(2_400_000),
                max_houses: Some(1),
                max_vehicles: Some(0),
            },
        }
    }

    /// The standard for `year` and `area`, if configured.
    pub fn find(&self, year: i32, area: Area) -> Option<&DibaoStandard> {
        self.dibao.iter().find(|d| d.year == year && d.area == area)
    }

    /// Refuses standards that cannot be meant: non-positive amounts, years outside
    /// 2000..=2100, two figures for the same year and area, negative limits.
    pub fn validate(&self) -> Result<(), StandardsError> {
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.dibao {
            let area = d.area.code();
            if !(2000..=2100).contains(&d.year) {
                return Err(StandardsError::Year(d.year));
            }
            if d.monthly_fen <= 0 {
                return Err(StandardsError::NotPositive { year: d.year, area });
            }
            if !seen.insert((d.year, d.area)) {
                return Err(StandardsError::Duplicate { year: d.year, area });
            }
        }
        let r = &self.asset_rules;
        for (name, value) in [
            ("max_deposits_per_capita_fen", r.max_deposits_per_capita_fen),
            ("max_houses", r.max_houses),
            ("max_vehicles", r.max_vehicles),
        ] {
            if value.is_some_and(|v| v < 0) {
                return Err(StandardsError::NegativeLimit(name));
            }
        }
        Ok(())
    }
}

/// What the UI shows beside the income section: the household's per-capita monthly income,
/// the standard it was compared with, and the reasoning. Never a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    pub per_capita_monthly_fen: i64,
    /// The standard of the case's area for the year asked about, when configured.
    pub standard: Option<DibaoStandard>,
    /// `Some(true)` when the per-capita income is below the standard; `None` when there is
    /// nothing to compare with (area not filled in, no standard configured).
    pub below_standard: Option<bool>,
    /// `Some(false)` when a configured asset rule is exceeded, `Some(true)` when every
    /// configured rule is met, `None` when no rule is configured.
    #[serde(default)]
    pub assets_within_rules: Option<bool>,
    /// The reasoning, one sentence each, in Chinese.
    pub reasons_zh: Vec<String>,
}

/// The sentence every hint ends with.
pub const HINT_NOTICE_ZH: &str = "以上为系统根据填报数据计算的参考提示，不作为审核审批结论。";

/// Compares `case` with the configured `standards` for `year` (the year of the visit).
pub fn hint(case: &CaseDoc, standards: &Standards, year: i32) -> Hint {
    let d = derive::derive(case);
    let per_capita = d.per_capita_monthly_income_fen;
    let mut reasons = vec![format!(
        "家庭年收入合计{}，按{}人、12个月计，人均月收入{}。",
        format_fen_zh(d.annual_income_fen),
        d.household_size,
        format_fen_zh(per_capita)
    )];
    let area = Area::from_code(&case.applicant.area);
    let standard = area.and_then(|a| standards.find(year, a)).cloned();
    let below_standard = match (area, &standard) {
        (None, _) => {
            reasons.push("未选择城市或农村，无法对照低保标准。".to_string());
            None
        }
        (Some(a), None) => {
            reasons.push(format!(
                "未配置{year}年{}低保标准，无法对照；请联系民政局更新标准。",
                a.label_zh()
            ));
            None
        }
        (Some(a), Some(s)) => {
            let below = per_capita < s.monthly_fen;
            reasons.push(format!(
                "人均月收入{}{}{}年{}低保标准{}（每人每月）。",
                format_fen_zh(per_capita),
                if below { "低于" } else { "不低于" },
                s.year,
                a.label_zh(),
                format_fen_zh(s.monthly_fen)
            ));
            Some(below)
        }
    };
    let rules = &standards.asset_rules;
    let mut any_rule = false;
    let mut within = true;
    if let Some(max) = rules.max_deposits_per_capita_fen {
        any_rule = true;
        let have = d.assets.deposits_per_capita_fen;
        if have > max {
            within = false;
            reasons.push(format!(
                "人均存款{}，超过规定上限{}。",
                format_fen_zh(have),
                format_fen_zh(max)
            ));
        }
    }
    if let Some(max) = rules.max_houses {
        any_rule = true;
        if d.assets.houses_count > max {
            within = false;
            reasons.push(format!(
                "家庭拥有房屋{}套，超过规定的{}套。",
                d.assets.houses_count, max
            ));
        }
    }
    if let Some(max) = rules.max_vehicles {
        any_rule = true;
        if d.assets.vehicles_count > max {
            within = false;
            reasons.push(format!(
                "家庭拥有车辆{}辆，超过规定的{}辆。",
                d.assets.vehicles_count, max
            ));
        }
    }
    let assets_within_rules = any_rule.then_some(within);
    if assets_within_rules == Some(true) {
        reasons.push("家庭财产未超过已配置的财产限额。".to_string());
    }
    reasons.push(HINT_NOTICE_ZH.to_string());
    Hint {
        per_capita_monthly_fen: per_capita,
        standard,
        below_standard,
        assets_within_rules,
        reasons_zh: reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{IncomeItem, Member};
    use crate::ids::{CaseId, UnitId};

    /// A household of two in a rural area with `monthly_fen` of income a month.
    fn household(monthly_fen: i64) -> CaseDoc {
        let mut c = CaseDoc::new_case(
            CaseId::from_random_bytes([4; 16]),
            &UnitId::new("chaoyang").unwrap(),
            0,
        );
        c.applicant.area = "rural".into();
        c.members.insert("m1".into(), Member::default());
        c.income.insert(
            "i1".into(),
            IncomeItem {
                category: "wages".into(),
                period: "monthly".into(),
                amount_fen: monthly_fen,
                ..Default::default()
            },
        );
        c
    }

    fn configured() -> Standards {
        Standards {
            dibao: vec![DibaoStandard {
                year: 2026,
                area: Area::Rural,
                monthly_fen: 78_000,
            }],
            asset_rules: AssetRules::default(),
        }
    }

    #[test]
    fn below_the_configured_standard() {
        // 1559.98 元 a month for two people: 779.99 元 each, one fen below 780.
        let h = hint(&household(155_998), &configured(), 2026);
        assert_eq!(h.per_capita_monthly_fen, 77_999);
        assert_eq!(h.below_standard, Some(true));
        assert_eq!(h.standard.as_ref().unwrap().monthly_fen, 78_000);
        assert!(
            h.reasons_zh
                .iter()
                .any(|r| r.contains("低于2026年农村低保标准780.00元")),
            "{:?}",
            h.reasons_zh
        );
        assert_eq!(h.assets_within_rules, None);
        assert_eq!(h.reasons_zh.last().unwrap(), HINT_NOTICE_ZH);
    }

    #[test]
    fn at_or_above_the_standard_is_not_below() {
        let h = hint(&household(156_000), &configured(), 2026);
        assert_eq!(h.per_capita_monthly_fen, 78_000);
        assert_eq!(h.below_standard, Some(false));
        assert!(h.reasons_zh.iter().any(|r| r.contains("不低于")));
    }

    #[test]
    fn no_standard_for_that_year_or_area_says_so_and_decides_nothing() {
        let h = hint(&household(10), &configured(), 2027);
        assert_eq!((h.below_standard, h.standard.clone()), (None, None));
        assert!(h
            .reasons_zh
            .iter()
            .any(|r| r.contains("未配置2027年农村低保标准")));

        let mut urban = household(10);
        urban.applicant.area = "urban".into();
        let h = hint(&urban, &configured(), 2026);
        assert_eq!(h.below_standard, None);
        assert!(h
            .reasons_zh
            .iter()
            .any(|r| r.contains("未配置2026年城市低保标准")));

        let mut unknown = household(10);
        unknown.applicant.area.clear();
        let h = hint(&unknown, &configured(), 2026);
        assert_eq!(h.below_standard, None);
        assert!(h.reasons_zh.iter().any(|r| r.contains("未选择城市或农村")));

        let h = hint(&household(10), &Standards::default(), 2026);
        assert_eq!(h.below_standard, None);
    }

    #[test]
    fn asset_rules_are_reported_with_their_reasons() {
        let mut c = household(10);
        c.assets.deposits_fen = 4_800_002; // 24 000.01 元 per person
        c.assets.houses_count = 1;
        c.assets.vehicles_count = 1;
        let standards = Standards::demo();
        let h = hint(&c, &standards, 2026);
        assert_eq!(h.assets_within_rules, Some(false));
        assert!(h
            .reasons_zh
            .iter()
            .any(|r| r.contains("人均存款24,000.01元")));
        assert!(h.reasons_zh.iter().any(|r| r.contains("车辆1辆")));
        assert!(!h.reasons_zh.iter().any(|r| r.contains("房屋")));
        c.assets.deposits_fen = 4_800_000;
        c.assets.vehicles_count = 0;
        assert_eq!(hint(&c, &standards, 2026).assets_within_rules, Some(true));
    }

    #[test]
    fn standards_read_from_json_and_bad_ones_are_refused() {
        let json = r#"{"dibao":[{"year":2026,"area":"urban","monthly_fen":98000}],
                       "asset_rules":{"max_houses":1}}"#;
        let s: Standards = serde_json::from_str(json).unwrap();
        assert_eq!(s.find(2026, Area::Urban).unwrap().monthly_fen, 98_000);
        assert_eq!(s.asset_rules.max_vehicles, None);
        assert!(s.validate().is_ok());
        assert!(Standards::demo().validate().is_ok());
        let mut twice = Standards::demo();
        twice.dibao.push(twice.dibao[0].clone());
        assert!(matches!(
            twice.validate(),
            Err(StandardsError::Duplicate { year: 2025, .. })
        ));
        let empty: Standards = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Standards::default());
    }
}
