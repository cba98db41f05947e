//! The district's units as the bureau's plan lists them (the demo district and the
//! display names the UI shows). Real deployments create their own units on the server.

/// `(code, display name, verifiers the plan assigns)`. The bureau comes first.
pub const PLAN_UNITS: &[(&str, &str, u8)] = &[
    ("bureau", "区民政局", 3),
    ("xinghai", "星海镇", 2),
    ("renminlu", "人民路街道", 2),
    ("chaoyang", "朝阳街道", 1),
    ("qingshan", "青山街道", 1),
    ("changcheng", "长城街道", 1),
    ("changsheng", "长胜街道", 1),
    ("changxing", "长兴街道", 1),
    ("jinlin", "锦林街道", 1),
    ("goukou", "沟口街道", 1),
    ("shitanjing", "石炭井街道", 1),
    ("baijigou", "白芨沟街道", 1),
];

/// The code of the bureau's own unit.
pub const BUREAU_UNIT: &str = "bureau";

/// Display name of a unit code of the plan, if it is one.
pub fn plan_unit_name(code: &str) -> Option<&'static str> {
    PLAN_UNITS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_has_sixteen_verifiers_in_eleven_units_plus_the_bureau() {
        let verifiers: u32 = PLAN_UNITS.iter().map(|(_, _, n)| u32::from(*n)).sum();
        assert_eq!(verifiers, 16);
        assert_eq!(PLAN_UNITS.len(), 12);
        assert_eq!(PLAN_UNITS[0].0, BUREAU_UNIT);
        for (code, _, _) in PLAN_UNITS {
            crate::UnitId::new(*code).unwrap();
        }
    }
}
