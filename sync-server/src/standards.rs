//! The bureau's 低保 standards (monthly amount per year and urban/rural area) and asset
//! rules, as the server's config holds them and `GET /api/v1/standards` serves them; the
//! app compares a household against them for a hint, never a decision.
//!
//! Local stand-in with the shape of `hecha_shared::standards` (being added): switch to
//! re-exporting those types when they land.

use serde::{Deserialize, Serialize};

/// Urban or rural: the two standards a district publishes each year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Urban,
    Rural,
}

/// One published monthly standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DibaoStandard {
    pub year: i32,
    pub area: Area,
    /// Per person per month, in fen (分).
    pub monthly_fen: i64,
}

/// Asset limits beyond which a household is normally not eligible (None: no limit set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRules {
    #[serde(default)]
    pub max_deposits_per_capita_fen: Option<i64>,
    #[serde(default)]
    pub max_houses: Option<i64>,
    #[serde(default)]
    pub max_vehicles: Option<i64>,
}

/// The standards of a district.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standards {
    #[serde(default)]
    pub dibao: Vec<DibaoStandard>,
    #[serde(default)]
    pub asset_rules: AssetRules,
}

/// What a server without a `[standards]` section serves: figures of the order a
/// prefecture-level city publishes (2025–2026), to be replaced by the bureau's own.
pub fn district_default() -> Standards {
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

/// Refuses standards that cannot be meant: non-positive amounts, two figures for the same
/// year and area, negative limits.
pub fn validate(standards: &Standards) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for d in &standards.dibao {
        if d.monthly_fen <= 0 {
            return Err(format!(
                "standards: {} {:?} monthly_fen must be positive",
                d.year, d.area
            ));
        }
        if !(2000..=2100).contains(&d.year) {
            return Err(format!("standards: year {} is out of range", d.year));
        }
        if !seen.insert((d.year, d.area == Area::Urban)) {
            return Err(format!(
                "standards: {} {:?} is given twice",
                d.year, d.area
            ));
        }
    }
    let rules = &standards.asset_rules;
    for (name, value) in [
        ("max_deposits_per_capita_fen", rules.max_deposits_per_capita_fen),
        ("max_houses", rules.max_houses),
        ("max_vehicles", rules.max_vehicles),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(format!("standards.asset_rules.{name} must not be negative"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_duplicates_are_refused() {
        assert!(validate(&district_default()).is_ok());
        let mut twice = district_default();
        twice.dibao.push(twice.dibao[0].clone());
        assert!(validate(&twice).unwrap_err().contains("twice"));
    }
}
