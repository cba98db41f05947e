//! The code lists of the investigation form: the stable codes written into case documents
//! and sent over IPC, and the Chinese label the UI shows for each.
//!
//! Every list is an enum with `ALL`, `code()`, `from_code()`, `label_zh()` and
//! `label_of(code)` (the label of a code, or the code itself when this version does not
//! know it, so a newer device's value still shows as something).

use serde::{Deserialize, Serialize};

macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant,)+
        }

        impl $name {
            /// Every value, in the order the form offers them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code written into documents.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// The label the UI shows.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            /// The label of `code`, or `code` itself when it is not one this version knows.
            pub fn label_of(code: &str) -> &str {
                match Self::from_code(code) {
                    Some(v) => v.label_zh(),
                    None => code,
                }
            }
        }
    };
}

code_list!(
    /// Why the household is in hardship (致贫原因); a case holds a set of them.
    HardshipCause {
        Illness = "illness", "因病";
        Disability = "disability", "因残";
        Schooling = "schooling", "因学";
        Disaster = "disaster", "因灾";
        Unemployment = "unemployment", "失业";
        NoLabour = "no_labour", "缺乏劳动力";
        Accident = "accident", "意外事故";
        Other = "other", "其他";
    }
);

code_list!(
    /// Which assistance the household applies for (申请救助类型); a set.
    AssistanceType {
        Dibao = "dibao", "最低生活保障";
        Tekun = "tekun", "特困人员供养";
        Medical = "medical", "医疗救助";
        Education = "education", "教育救助";
        Housing = "housing", "住房救助";
        Employment = "employment", "就业救助";
        Temporary = "temporary", "临时救助";
    }
);

code_list!(
    /// Category of an income item.
    IncomeCategory {
        Wages = "wages", "工资性收入";
        Business = "business", "经营性收入";
        Property = "property", "财产性收入";
        Transfer = "transfer", "转移性收入";
        Other = "other", "其他收入";
    }
);

code_list!(
    /// Whether an income amount is per month or per year.
    IncomePeriod {
        Monthly = "monthly", "每月";
        Annual = "annual", "每年";
    }
);

code_list!(
    /// A member's health.
    HealthStatus {
        Healthy = "healthy", "健康";
        Chronic = "chronic", "慢性病";
        Serious = "serious", "重大疾病";
        Disabled = "disabled", "残疾";
    }
);

code_list!(
    /// Disability grade (残疾等级) of a member whose health is `disabled`.
    DisabilityGrade {
        One = "1", "一级";
        Two = "2", "二级";
        Three = "3", "三级";
        Four = "4", "四级";
    }
);

code_list!(
    /// A member's capacity to work.
    Labour {
        Full = "full", "完全劳动能力";
        Partial = "partial", "部分劳动能力";
        None = "none", "无劳动能力";
    }
);

code_list!(
    /// A member's schooling.
    Schooling {
        None = "none", "未上学/学龄前";
        Primary = "primary", "小学";
        Junior = "junior", "初中";
        Senior = "senior", "高中/中职";
        College = "college", "大专及以上";
        Graduated = "graduated", "已毕业/不在学";
    }
);

code_list!(
    /// A member's marital status.
    Marital {
        Single = "single", "未婚";
        Married = "married", "已婚";
        Divorced = "divorced", "离异";
        Widowed = "widowed", "丧偶";
    }
);

code_list!(
    /// Tenure of the household's dwelling.
    HousingKind {
        Owned = "owned", "自有住房";
        Rented = "rented", "租赁住房";
        Public = "public", "公租房/廉租房";
        Borrowed = "borrowed", "借住";
        Other = "other", "其他";
    }
);

code_list!(
    /// State of the dwelling.
    HousingCondition {
        Good = "good", "良好";
        Fair = "fair", "一般";
        Poor = "poor", "较差";
        Dangerous = "dangerous", "危房";
    }
);

code_list!(
    /// Urban or rural: the 低保 standard differs.
    Area {
        Urban = "urban", "城市";
        Rural = "rural", "农村";
    }
);

code_list!(
    /// How the case came to the office.
    Origin {
        Application = "application", "本人申请";
        OnBehalf = "on_behalf", "代为申请";
        Discovery = "discovery", "主动发现";
    }
);

code_list!(
    /// What a discovery report (发现报告) is about.
    DiscoveryKind {
        Accident = "accident", "意外事故";
        Illness = "illness", "重病";
        Disaster = "disaster", "灾害";
        Other = "other", "其他";
    }
);

code_list!(
    /// The investigators' opinion (调查结论).
    ConclusionOpinion {
        Eligible = "eligible", "符合条件";
        Ineligible = "ineligible", "不符合条件";
        Further = "further", "需进一步核查";
    }
);

code_list!(
    /// Whether the visit's GPS position could be taken.
    GpsStatus {
        Ok = "ok", "已定位";
        Unavailable = "unavailable", "本设备无法定位";
        Denied = "denied", "未获定位授权";
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn check<T: Copy + Eq + std::fmt::Debug>(
        all: &[T],
        code: fn(T) -> &'static str,
        from: fn(&str) -> Option<T>,
        label: fn(T) -> &'static str,
    ) {
        let mut codes = BTreeSet::new();
        let mut labels = BTreeSet::new();
        for &v in all {
            assert_eq!(from(code(v)), Some(v));
            assert!(codes.insert(code(v)), "duplicate code {}", code(v));
            assert!(labels.insert(label(v)), "duplicate label {}", label(v));
            assert!(!label(v).is_ascii(), "label of {:?} is not Chinese", v);
        }
    }

    #[test]
    fn every_list_round_trips_its_codes_and_has_distinct_chinese_labels() {
        macro_rules! all {
            ($($t:ty),+) => {$(check(<$t>::ALL, <$t>::code, <$t>::from_code, <$t>::label_zh);)+};
        }
        all!(
            HardshipCause,
            AssistanceType,
            IncomeCategory,
            IncomePeriod,
            HealthStatus,
            DisabilityGrade,
            Labour,
            Schooling,
            Marital,
            HousingKind,
            HousingCondition,
            Area,
            Origin,
            DiscoveryKind,
            ConclusionOpinion,
            GpsStatus
        );
        assert_eq!(HardshipCause::NoLabour.code(), "no_labour");
        assert_eq!(AssistanceType::Dibao.label_zh(), "最低生活保障");
        assert_eq!(Area::label_of("rural"), "农村");
        assert_eq!(Area::label_of("martian"), "martian");
        assert_eq!(
            serde_json::to_string(&Origin::OnBehalf).unwrap(),
            "\"on_behalf\""
        );
    }
}
