//! The bureau's 低保 standards (monthly amount per year and urban/rural area) and asset
//! rules as the server's config holds them and `GET /api/v1/standards` serves them; the
//! app compares a household against them for a hint, never a decision. The types are the
//! shared crate's; this module adds the server's defaults and config-time validation.

pub use hecha_shared::case::Area;
pub use hecha_shared::standards::{AssetRules, DibaoStandard, Standards};

/// What a server without a `[standards]` section serves: example figures of the order a
/// prefecture-level city publishes (2025–2026), to be replaced by the bureau's own.
pub fn district_default() -> Standards {
    Standards::demo()
}

/// Refuses standards that cannot be meant (non-positive amounts, a year and area given
/// twice, negative limits), with a message naming the entry.
pub fn validate(standards: &Standards) -> Result<(), String> {
    standards
        .validate()
        .map_err(|e| format!("config [standards]: {e}"))
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
