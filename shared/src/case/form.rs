//! The case form as the UI edits it: plain text fields, validated here (pure), applied
//! to a [`CaseDoc`] by the app core in one commit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CaseDoc, Member, Relation};
use crate::id_number::IdNumber;
use crate::ids::{CaseId, MemberId};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseForm {
    /// `None` for a case not saved yet.
    pub case_id: Option<CaseId>,
    pub applicant: ApplicantForm,
    pub members: Vec<MemberForm>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantForm {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberForm {
    /// `None` for a member added in this edit.
    pub id: Option<MemberId>,
    pub name: String,
    /// A [`Relation`] code.
    pub relation: String,
    pub id_number: String,
    pub removed: bool,
}

/// Field path (`applicant.id_number`, `members.1.name`) → what is wrong, in Chinese.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.insert(field.into(), message.into());
    }
}

fn check_id(errors: &mut FieldErrors, field: String, text: &str, required: bool) {
    if text.trim().is_empty() {
        if required {
            errors.add(field, "请填写身份证号");
        }
    } else if let Err(e) = IdNumber::parse(text) {
        errors.add(field, e.message_zh());
    }
}

fn check_phone(errors: &mut FieldErrors, field: &str, text: &str) {
    let t = text.trim();
    if t.is_empty() {
        return;
    }
    let digits = t.chars().filter(|c| c.is_ascii_digit()).count();
    let allowed = t
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
    if !allowed || !(7..=12).contains(&digits) {
        errors.add(field, "联系电话格式不正确（手机11位或座机号码）");
    }
}

/// Checks everything a person must put right before the case can be saved.
pub fn validate_form(form: &CaseForm) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    if form.applicant.name.trim().is_empty() {
        errors.add("applicant.name", "请填写申请人姓名");
    }
    check_id(
        &mut errors,
        "applicant.id_number".into(),
        &form.applicant.id_number,
        true,
    );
    check_phone(&mut errors, "applicant.phone", &form.applicant.phone);
    for (i, m) in form.members.iter().enumerate() {
        if m.removed {
            continue;
        }
        if m.name.trim().is_empty() {
            errors.add(format!("members.{i}.name"), "请填写成员姓名");
        }
        if Relation::from_code(&m.relation).is_none() {
            errors.add(format!("members.{i}.relation"), "请选择与申请人关系");
        }
        check_id(
            &mut errors,
            format!("members.{i}.id_number"),
            &m.id_number,
            false,
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn normalise_id(text: &str) -> String {
    IdNumber::parse(text)
        .map(String::from)
        .unwrap_or_else(|_| text.trim().to_string())
}

impl CaseForm {
    /// The form showing `case` as it stands.
    pub fn from_case(case: &CaseDoc) -> Self {
        Self {
            case_id: case.case_id.parse().ok(),
            applicant: ApplicantForm {
                name: case.applicant.name.clone(),
                id_number: case.applicant.id_number.clone(),
                phone: case.applicant.phone.clone(),
                address: case.applicant.address.clone(),
            },
            members: case
                .active_members()
                .into_iter()
                .map(|(id, m)| MemberForm {
                    id: id.parse().ok(),
                    name: m.name.clone(),
                    relation: m.relation.clone(),
                    id_number: m.id_number.clone(),
                    removed: m.removed,
                })
                .collect(),
        }
    }

    /// Writes the form's values into `case`. New members get ids from `new_id`; members
    /// the form does not mention are left as they are (removal is the `removed` flag).
    pub fn apply_to(&self, case: &mut CaseDoc, now_ms: i64, mut new_id: impl FnMut() -> MemberId) {
        let a = &mut case.applicant;
        a.name = self.applicant.name.trim().to_string();
        a.id_number = normalise_id(&self.applicant.id_number);
        a.phone = self.applicant.phone.trim().to_string();
        a.address = self.applicant.address.trim().to_string();
        for (i, m) in self.members.iter().enumerate() {
            let key = m.id.unwrap_or_else(&mut new_id).to_string();
            let entry = case.members.entry(key).or_insert_with(|| Member {
                name: String::new(),
                relation: String::new(),
                id_number: String::new(),
                added_at: now_ms + i as i64,
                removed: false,
            });
            entry.name = m.name.trim().to_string();
            entry.relation = m.relation.clone();
            entry.id_number = normalise_id(&m.id_number);
            entry.removed = m.removed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UnitId;

    fn valid_form() -> CaseForm {
        CaseForm {
            case_id: None,
            applicant: ApplicantForm {
                name: "王秀兰".into(),
                id_number: "11010519491231002x".into(),
                phone: "13800000000".into(),
                address: "朝阳街道幸福里3号".into(),
            },
            members: vec![MemberForm {
                id: None,
                name: "李建国".into(),
                relation: "spouse".into(),
                id_number: String::new(),
                removed: false,
            }],
        }
    }

    #[test]
    fn a_valid_form_passes_and_applies_with_normalised_ids() {
        let form = valid_form();
        validate_form(&form).unwrap();
        let mut case = CaseDoc::new_case(
            CaseId::from_random_bytes([3; 16]),
            &UnitId::new("goukou").unwrap(),
            10,
        );
        let mut n = 0u8;
        form.apply_to(&mut case, 10, || {
            n += 1;
            MemberId::from_random_bytes([n; 16])
        });
        assert_eq!(case.applicant.id_number, "11010519491231002X");
        assert_eq!(case.household_size(), 2);
        let back = CaseForm::from_case(&case);
        assert_eq!(back.members[0].name, "李建国");
        assert_eq!(
            back.members[0].id,
            Some(MemberId::from_random_bytes([1; 16]))
        );
    }

    #[test]
    fn errors_are_reported_per_field_in_chinese() {
        let mut form = valid_form();
        form.applicant.name = " ".into();
        form.applicant.id_number = "110105194912310021".into();
        form.applicant.phone = "12ab".into();
        form.members[0].relation = "cousin".into();
        form.members.push(MemberForm {
            name: "李小".into(),
            relation: "child".into(),
            id_number: "123".into(),
            ..Default::default()
        });
        let errors = validate_form(&form).unwrap_err();
        assert_eq!(errors.get("applicant.name"), Some("请填写申请人姓名"));
        assert!(errors
            .get("applicant.id_number")
            .unwrap()
            .contains("校验位"));
        assert!(errors.get("applicant.phone").is_some());
        assert_eq!(errors.get("members.0.relation"), Some("请选择与申请人关系"));
        assert!(errors.get("members.1.id_number").unwrap().contains("18位"));
        assert_eq!(errors.0.len(), 5);
    }

    #[test]
    fn a_removed_member_is_not_validated() {
        let mut form = valid_form();
        form.members[0].name.clear();
        form.members[0].removed = true;
        validate_form(&form).unwrap();
    }
}
