//! The case form as the UI edits it (IPC): every section of the record, money as integer
//! fen, code lists as codes. Validated here (pure), applied to a [`CaseDoc`] by the app core
//! in one commit.
//!
//! Two levels of checking: [`validate_form`] is what a save needs (the record is coherent:
//! codes known, amounts in range, the applicant identified); [`validate_for_signing`] adds
//! what a complete investigation must hold before anyone signs it. Both return per-field
//! Chinese messages keyed by paths such as `applicant.id_number`, `members.0.health`,
//! `income.2.amount_fen`, `hardship`, `conclusion.opinion` (list indexes are the form's).
//!
//! Every field added in schema 2 has a serde default, so a version 1 form (JSON of the
//! walking skeleton, a draft saved by an older build) still parses.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::codes::{
    Area, AssistanceType, ConclusionOpinion, DisabilityGrade, DiscoveryKind, GpsStatus,
    HardshipCause, HealthStatus, HousingCondition, HousingKind, IncomeCategory, IncomePeriod,
    Labour, Marital, Origin, Schooling,
};
use super::{
    Assets, CaseDoc, Conclusion, Discovery, Expenses, Housing, IncomeItem, Member, NeighbourVisit,
    Relation, Visit, SCHEMA_VERSION,
};
use crate::id_number::IdNumber;
use crate::ids::{CaseId, ItemId, MemberId};

/// The whole record as the form edits it. Photos and signatures are not in it: they have
/// their own actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseForm {
    /// `None` for a case not saved yet.
    pub case_id: Option<CaseId>,
    /// An [`Origin`] code; `""` is read as `application`.
    #[serde(default)]
    pub origin: String,
    pub applicant: ApplicantForm,
    /// Active members in the order they were added; a removal is `removed: true`.
    pub members: Vec<MemberForm>,
    /// Active income items; a removal is `removed: true`.
    #[serde(default)]
    pub income: Vec<IncomeForm>,
    #[serde(default)]
    pub assets: Assets,
    #[serde(default)]
    pub expenses: Expenses,
    #[serde(default)]
    pub housing: Housing,
    /// Chosen [`HardshipCause`] codes.
    #[serde(default)]
    pub hardship: Vec<String>,
    /// Chosen [`AssistanceType`] codes.
    #[serde(default)]
    pub assistance: Vec<String>,
    #[serde(default)]
    pub narrative: String,
    #[serde(default)]
    pub conclusion: Conclusion,
    #[serde(default)]
    pub visit: Visit,
    #[serde(default)]
    pub discovery: Discovery,
    /// Active neighbour visits; a removal is `removed: true`.
    #[serde(default)]
    pub neighbour_visits: Vec<NeighbourVisitForm>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantForm {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    /// 户籍地址.
    #[serde(default)]
    pub registered_address: String,
    /// 现住址.
    pub address: String,
    /// 社区/村.
    #[serde(default)]
    pub community: String,
    /// An [`Area`] code.
    #[serde(default)]
    pub area: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberForm {
    /// `None` for a member added in this edit.
    pub id: Option<MemberId>,
    pub name: String,
    /// A [`Relation`] code.
    pub relation: String,
    pub id_number: String,
    /// A [`HealthStatus`] code.
    #[serde(default)]
    pub health: String,
    /// `""` or `"1"`..`"4"`.
    #[serde(default)]
    pub disability_grade: String,
    /// A [`Labour`] code.
    #[serde(default)]
    pub labour: String,
    #[serde(default)]
    pub employment: String,
    /// A [`Schooling`] code.
    #[serde(default)]
    pub schooling: String,
    /// A [`Marital`] code.
    #[serde(default)]
    pub marital: String,
    pub removed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeForm {
    /// `None` for an item added in this edit.
    #[serde(default)]
    pub id: Option<ItemId>,
    /// An [`IncomeCategory`] code.
    #[serde(default)]
    pub category: String,
    /// An [`IncomePeriod`] code.
    #[serde(default)]
    pub period: String,
    /// Integer fen (the UI parses yuan text with `crate::money::parse_yuan`).
    #[serde(default)]
    pub amount_fen: i64,
    /// A saved member's id, or `""` for the household / the applicant.
    #[serde(default)]
    pub member: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub removed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighbourVisitForm {
    /// `None` for a visit added in this edit.
    #[serde(default)]
    pub id: Option<ItemId>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub relation_or_address: String,
    #[serde(default)]
    pub statement: String,
    /// ms since the Unix epoch; 0 = the time of the save.
    #[serde(default)]
    pub visited_at: i64,
    /// Who made the visit; the app core fills these for a new visit when empty.
    #[serde(default)]
    pub by_user: String,
    #[serde(default)]
    pub by_name: String,
    #[serde(default)]
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

    /// Records a message for `field` unless it already has one (the first problem found is
    /// the one to fix first).
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// The largest amount a form accepts, in fen (100 亿元): sums of a household's items stay
/// far from overflow.
pub const MAX_AMOUNT_FEN: i64 = 1_000_000_000_000;
/// The largest count (houses, vehicles) a form accepts.
pub const MAX_COUNT: i64 = 1_000;
/// The largest area a form accepts, in 0.01 m² (100 000 m²).
pub const MAX_AREA_M2X100: i64 = 10_000_000;

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

/// A code field: `""` is allowed here (required-ness is checked where it applies), any
/// other value must be a known code.
fn check_code(errors: &mut FieldErrors, field: String, code: &str, known: bool, what: &str) {
    if !code.is_empty() && !known {
        errors.add(field, format!("{what}的取值无效，请重新选择"));
    }
}

fn check_amount(errors: &mut FieldErrors, field: String, fen: i64) {
    if fen < 0 {
        errors.add(field, "金额不能为负数");
    } else if fen > MAX_AMOUNT_FEN {
        errors.add(field, "金额超出范围，请核对");
    }
}

fn check_count(errors: &mut FieldErrors, field: &str, n: i64) {
    if n < 0 {
        errors.add(field, "数量不能为负数");
    } else if n > MAX_COUNT {
        errors.add(field, "数量超出范围，请核对");
    }
}

fn check_area(errors: &mut FieldErrors, field: &str, m2x100: i64) {
    if m2x100 < 0 {
        errors.add(field, "面积不能为负数");
    } else if m2x100 > MAX_AREA_M2X100 {
        errors.add(field, "面积超出范围，请核对");
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Checks everything a person must put right before the case can be saved.
pub fn validate_form(form: &CaseForm) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    save_checks(form, &mut errors);
    errors.into_result()
}

/// Checks a record before anyone signs it: everything [`validate_form`] checks, and that
/// the investigation is complete (applicant's addresses, community and area; each member's
/// health, labour capacity, schooling and marital status, the disability grade of a
/// disabled member; at least one hardship cause and one assistance type; housing; the
/// conclusion's opinion; the visit's start time).
pub fn validate_for_signing(form: &CaseForm) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    save_checks(form, &mut errors);
    let a = &form.applicant;
    if blank(&a.id_number) && !errors.0.contains_key("applicant.id_number") {
        errors.add("applicant.id_number", "请填写身份证号");
    }
    if blank(&a.registered_address) {
        errors.add("applicant.registered_address", "请填写户籍地址");
    }
    if blank(&a.address) {
        errors.add("applicant.address", "请填写现住址");
    }
    if blank(&a.community) {
        errors.add("applicant.community", "请填写所在社区/村");
    }
    if a.area.is_empty() {
        errors.add("applicant.area", "请选择城市或农村");
    }
    for (i, m) in form.members.iter().enumerate().filter(|(_, m)| !m.removed) {
        if m.health.is_empty() {
            errors.add(format!("members.{i}.health"), "请选择健康状况");
        }
        if m.health == HealthStatus::Disabled.code() && m.disability_grade.is_empty() {
            errors.add(format!("members.{i}.disability_grade"), "请选择残疾等级");
        }
        if m.labour.is_empty() {
            errors.add(format!("members.{i}.labour"), "请选择劳动能力");
        }
        if m.schooling.is_empty() {
            errors.add(format!("members.{i}.schooling"), "请选择就学情况");
        }
        if m.marital.is_empty() {
            errors.add(format!("members.{i}.marital"), "请选择婚姻状况");
        }
    }
    if form.hardship.is_empty() {
        errors.add("hardship", "请至少选择一项致贫原因");
    }
    if form.assistance.is_empty() {
        errors.add("assistance", "请至少选择一项申请救助类型");
    }
    if form.housing.kind.is_empty() {
        errors.add("housing.kind", "请选择住房性质");
    }
    if form.housing.condition.is_empty() {
        errors.add("housing.condition", "请选择房屋状况");
    }
    if form.conclusion.opinion.is_empty() {
        errors.add("conclusion.opinion", "请选择调查结论");
    }
    if form.visit.started_at <= 0 {
        errors.add("visit.started_at", "请记录入户调查开始时间");
    }
    errors.into_result()
}

fn save_checks(form: &CaseForm, errors: &mut FieldErrors) {
    check_code(
        errors,
        "origin".into(),
        &form.origin,
        Origin::from_code(&form.origin).is_some(),
        "个案来源",
    );
    let a = &form.applicant;
    if blank(&a.name) {
        errors.add("applicant.name", "请填写申请人姓名");
    }
    // A discovery report is made in a hurry, often by someone who does not know the
    // household's ID number: it may wait until the investigation (signing needs it).
    let discovery = form.origin == Origin::Discovery.code();
    check_id(
        errors,
        "applicant.id_number".into(),
        &a.id_number,
        !discovery,
    );
    check_phone(errors, "applicant.phone", &a.phone);
    check_code(
        errors,
        "applicant.area".into(),
        &a.area,
        Area::from_code(&a.area).is_some(),
        "城乡类别",
    );
    let mut member_ids = BTreeSet::new();
    for (i, m) in form.members.iter().enumerate() {
        if m.removed {
            continue;
        }
        if let Some(id) = m.id {
            member_ids.insert(id.to_string());
        }
        if blank(&m.name) {
            errors.add(format!("members.{i}.name"), "请填写成员姓名");
        }
        if Relation::from_code(&m.relation).is_none() {
            errors.add(format!("members.{i}.relation"), "请选择与申请人关系");
        }
        check_id(
            errors,
            format!("members.{i}.id_number"),
            &m.id_number,
            false,
        );
        let code = |field: &str| format!("members.{i}.{field}");
        check_code(
            errors,
            code("health"),
            &m.health,
            HealthStatus::from_code(&m.health).is_some(),
            "健康状况",
        );
        check_code(
            errors,
            code("disability_grade"),
            &m.disability_grade,
            DisabilityGrade::from_code(&m.disability_grade).is_some(),
            "残疾等级",
        );
        if !m.disability_grade.is_empty()
            && !m.health.is_empty()
            && m.health != HealthStatus::Disabled.code()
        {
            errors.add(code("disability_grade"), "健康状况为残疾时才填写残疾等级");
        }
        check_code(
            errors,
            code("labour"),
            &m.labour,
            Labour::from_code(&m.labour).is_some(),
            "劳动能力",
        );
        check_code(
            errors,
            code("schooling"),
            &m.schooling,
            Schooling::from_code(&m.schooling).is_some(),
            "就学情况",
        );
        check_code(
            errors,
            code("marital"),
            &m.marital,
            Marital::from_code(&m.marital).is_some(),
            "婚姻状况",
        );
    }
    for (i, item) in form.income.iter().enumerate() {
        if item.removed {
            continue;
        }
        if IncomeCategory::from_code(&item.category).is_none() {
            errors.add(format!("income.{i}.category"), "请选择收入类别");
        }
        if IncomePeriod::from_code(&item.period).is_none() {
            errors.add(format!("income.{i}.period"), "请选择按月或按年");
        }
        check_amount(errors, format!("income.{i}.amount_fen"), item.amount_fen);
        if !item.member.is_empty() && !member_ids.contains(&item.member) {
            errors.add(format!("income.{i}.member"), "所选家庭成员不存在或已移除");
        }
    }
    let s = &form.assets;
    for (field, fen) in [
        ("assets.deposits_fen", s.deposits_fen),
        ("assets.vehicles_value_fen", s.vehicles_value_fen),
        ("assets.securities_fen", s.securities_fen),
        ("assets.insurance_fen", s.insurance_fen),
        ("assets.business_assets_fen", s.business_assets_fen),
        (
            "expenses.medical_fen_annual",
            form.expenses.medical_fen_annual,
        ),
        (
            "expenses.education_fen_annual",
            form.expenses.education_fen_annual,
        ),
        ("expenses.other_fen_annual", form.expenses.other_fen_annual),
    ] {
        check_amount(errors, field.into(), fen);
    }
    check_count(errors, "assets.houses_count", s.houses_count);
    check_count(errors, "assets.vehicles_count", s.vehicles_count);
    check_area(errors, "assets.houses_area_m2x100", s.houses_area_m2x100);
    if s.houses_count == 0 && s.houses_area_m2x100 > 0 {
        errors.add("assets.houses_count", "填写了房屋面积，请填写房屋套数");
    }
    if s.vehicles_count == 0 && s.vehicles_value_fen > 0 {
        errors.add("assets.vehicles_count", "填写了车辆价值，请填写车辆数量");
    }
    let h = &form.housing;
    check_code(
        errors,
        "housing.kind".into(),
        &h.kind,
        HousingKind::from_code(&h.kind).is_some(),
        "住房性质",
    );
    check_code(
        errors,
        "housing.condition".into(),
        &h.condition,
        HousingCondition::from_code(&h.condition).is_some(),
        "房屋状况",
    );
    check_area(errors, "housing.area_m2x100", h.area_m2x100);
    if let Some(bad) = form
        .hardship
        .iter()
        .find(|c| HardshipCause::from_code(c).is_none())
    {
        errors.add("hardship", format!("未知的致贫原因：{bad}"));
    }
    if let Some(bad) = form
        .assistance
        .iter()
        .find(|c| AssistanceType::from_code(c).is_none())
    {
        errors.add("assistance", format!("未知的救助类型：{bad}"));
    }
    check_code(
        errors,
        "conclusion.opinion".into(),
        &form.conclusion.opinion,
        ConclusionOpinion::from_code(&form.conclusion.opinion).is_some(),
        "调查结论",
    );
    let v = &form.visit;
    if v.started_at < 0 {
        errors.add("visit.started_at", "时间无效");
    }
    if v.ended_at != 0 && v.started_at == 0 {
        errors.add("visit.started_at", "请先记录入户开始时间");
    } else if v.ended_at != 0 && v.ended_at < v.started_at {
        errors.add("visit.ended_at", "结束时间不能早于开始时间");
    }
    check_code(
        errors,
        "visit.gps_status".into(),
        &v.gps_status,
        GpsStatus::from_code(&v.gps_status).is_some(),
        "定位状态",
    );
    if v.gps_status == GpsStatus::Ok.code() {
        if !(-90_000_000..=90_000_000).contains(&v.lat_e6) {
            errors.add("visit.lat_e6", "纬度超出范围");
        }
        if !(-180_000_000..=180_000_000).contains(&v.lon_e6) {
            errors.add("visit.lon_e6", "经度超出范围");
        }
        if v.accuracy_m < 0 {
            errors.add("visit.accuracy_m", "定位精度无效");
        }
    }
    if form.origin == Origin::Discovery.code() {
        let d = &form.discovery;
        if DiscoveryKind::from_code(&d.kind).is_none() {
            errors.add("discovery.kind", "请选择困难类型");
        }
        if blank(&d.description) {
            errors.add("discovery.description", "请简要描述发现的情况");
        }
    } else {
        check_code(
            errors,
            "discovery.kind".into(),
            &form.discovery.kind,
            DiscoveryKind::from_code(&form.discovery.kind).is_some(),
            "困难类型",
        );
    }
    for (i, n) in form.neighbour_visits.iter().enumerate() {
        if n.removed {
            continue;
        }
        if blank(&n.name) {
            errors.add(format!("neighbour_visits.{i}.name"), "请填写受访邻居姓名");
        }
        if blank(&n.statement) {
            errors.add(
                format!("neighbour_visits.{i}.statement"),
                "请记录邻居反映的情况",
            );
        }
        if n.visited_at < 0 {
            errors.add(format!("neighbour_visits.{i}.visited_at"), "时间无效");
        }
    }
}

fn normalise_id(text: &str) -> String {
    IdNumber::parse(text)
        .map(String::from)
        .unwrap_or_else(|_| text.trim().to_string())
}

/// Sorted, deduplicated chosen codes.
fn chosen_codes(codes: &[String]) -> BTreeSet<String> {
    codes.iter().map(|c| c.trim().to_string()).collect()
}

/// Sets `set` to exactly `chosen`: chosen codes `true`, codes the document held as chosen
/// and the form no longer has `false` (never deleted, so concurrent choices merge).
fn apply_set(set: &mut BTreeMap<String, bool>, chosen: &BTreeSet<String>) {
    for on in set.values_mut() {
        *on = false;
    }
    for code in chosen {
        set.insert(code.clone(), true);
    }
}

impl CaseForm {
    /// The form showing `case` as it stands.
    pub fn from_case(case: &CaseDoc) -> Self {
        let a = &case.applicant;
        Self {
            case_id: case.case_id.parse().ok(),
            origin: if case.origin.is_empty() {
                Origin::Application.code().to_string()
            } else {
                case.origin.clone()
            },
            applicant: ApplicantForm {
                name: a.name.clone(),
                id_number: a.id_number.clone(),
                phone: a.phone.clone(),
                registered_address: a.registered_address.clone(),
                address: a.address.clone(),
                community: a.community.clone(),
                area: a.area.clone(),
            },
            members: case
                .active_members()
                .into_iter()
                .map(|(id, m)| MemberForm {
                    id: id.parse().ok(),
                    name: m.name.clone(),
                    relation: m.relation.clone(),
                    id_number: m.id_number.clone(),
                    health: m.health.clone(),
                    disability_grade: m.disability_grade.clone(),
                    labour: m.labour.clone(),
                    employment: m.employment.clone(),
                    schooling: m.schooling.clone(),
                    marital: m.marital.clone(),
                    removed: m.removed,
                })
                .collect(),
            income: case
                .active_income()
                .into_iter()
                .map(|(id, i)| IncomeForm {
                    id: id.parse().ok(),
                    category: i.category.clone(),
                    period: i.period.clone(),
                    amount_fen: i.amount_fen,
                    member: i.member.clone(),
                    note: i.note.clone(),
                    removed: i.removed,
                })
                .collect(),
            assets: case.assets.clone(),
            expenses: case.expenses.clone(),
            housing: case.housing.clone(),
            hardship: CaseDoc::chosen(&case.hardship),
            assistance: CaseDoc::chosen(&case.assistance),
            narrative: case.narrative.clone(),
            conclusion: case.conclusion.clone(),
            visit: case.visit.clone(),
            discovery: case.discovery.clone(),
            neighbour_visits: case
                .active_neighbour_visits()
                .into_iter()
                .map(|(id, n)| NeighbourVisitForm {
                    id: id.parse().ok(),
                    name: n.name.clone(),
                    relation_or_address: n.relation_or_address.clone(),
                    statement: n.statement.clone(),
                    visited_at: n.visited_at,
                    by_user: n.by_user.clone(),
                    by_name: n.by_name.clone(),
                    removed: n.removed,
                })
                .collect(),
        }
    }

    /// Writes the form's values into `case` (and marks it schema 2). New members, income
    /// items and neighbour visits get ids from `new_id`; items the form does not mention
    /// are left as they are (removal is the `removed` flag). Photos, signatures and the
    /// status are not the form's to change.
    pub fn apply_to(&self, case: &mut CaseDoc, now_ms: i64, mut new_id: impl FnMut() -> MemberId) {
        case.schema = case.schema.max(SCHEMA_VERSION);
        case.origin = if self.origin.is_empty() {
            Origin::Application.code().to_string()
        } else {
            self.origin.clone()
        };
        let a = &mut case.applicant;
        a.name = self.applicant.name.trim().to_string();
        a.id_number = normalise_id(&self.applicant.id_number);
        a.phone = self.applicant.phone.trim().to_string();
        a.registered_address = self.applicant.registered_address.trim().to_string();
        a.address = self.applicant.address.trim().to_string();
        a.community = self.applicant.community.trim().to_string();
        a.area = self.applicant.area.clone();
        for (i, m) in self.members.iter().enumerate() {
            let key = m.id.unwrap_or_else(&mut new_id).to_string();
            let entry = case.members.entry(key).or_insert_with(|| Member {
                added_at: now_ms + i as i64,
                ..Member::default()
            });
            entry.name = m.name.trim().to_string();
            entry.relation = m.relation.clone();
            entry.id_number = normalise_id(&m.id_number);
            entry.health = m.health.clone();
            entry.disability_grade = m.disability_grade.clone();
            entry.labour = m.labour.clone();
            entry.employment = m.employment.trim().to_string();
            entry.schooling = m.schooling.clone();
            entry.marital = m.marital.clone();
            entry.removed = m.removed;
        }
        for (i, f) in self.income.iter().enumerate() {
            let key = f.id.unwrap_or_else(|| ItemId(new_id().0)).to_string();
            let entry = case.income.entry(key).or_insert_with(|| IncomeItem {
                added_at: now_ms + i as i64,
                ..IncomeItem::default()
            });
            entry.category = f.category.clone();
            entry.period = f.period.clone();
            entry.amount_fen = f.amount_fen;
            entry.member = f.member.clone();
            entry.note = f.note.trim().to_string();
            entry.removed = f.removed;
        }
        case.assets = Assets {
            note: self.assets.note.trim().to_string(),
            ..self.assets.clone()
        };
        case.expenses = Expenses {
            note: self.expenses.note.trim().to_string(),
            ..self.expenses.clone()
        };
        case.housing = Housing {
            note: self.housing.note.trim().to_string(),
            ..self.housing.clone()
        };
        apply_set(&mut case.hardship, &chosen_codes(&self.hardship));
        apply_set(&mut case.assistance, &chosen_codes(&self.assistance));
        case.narrative = self.narrative.trim().to_string();
        case.conclusion = Conclusion {
            opinion: self.conclusion.opinion.clone(),
            text: self.conclusion.text.trim().to_string(),
        };
        case.visit = self.visit.clone();
        case.discovery = Discovery {
            description: self.discovery.description.trim().to_string(),
            ..self.discovery.clone()
        };
        for (i, f) in self.neighbour_visits.iter().enumerate() {
            let key = f.id.unwrap_or_else(|| ItemId(new_id().0)).to_string();
            let entry = case
                .neighbour_visits
                .entry(key)
                .or_insert_with(|| NeighbourVisit {
                    added_at: now_ms + i as i64,
                    ..NeighbourVisit::default()
                });
            entry.name = f.name.trim().to_string();
            entry.relation_or_address = f.relation_or_address.trim().to_string();
            entry.statement = f.statement.trim().to_string();
            entry.visited_at = if f.visited_at > 0 {
                f.visited_at
            } else {
                now_ms
            };
            if !f.by_user.is_empty() || entry.by_user.is_empty() {
                entry.by_user = f.by_user.clone();
            }
            if !f.by_name.is_empty() || entry.by_name.is_empty() {
                entry.by_name = f.by_name.trim().to_string();
            }
            entry.removed = f.removed;
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
                ..Default::default()
            },
            members: vec![MemberForm {
                id: None,
                name: "李建国".into(),
                relation: "spouse".into(),
                id_number: String::new(),
                removed: false,
                ..Default::default()
            }],
            ..Default::default()
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

    /// A form complete enough to sign.
    fn complete_form() -> CaseForm {
        let mut f = valid_form();
        f.applicant.registered_address = "北京市东城区户籍路1号".into();
        f.applicant.community = "幸福里社区".into();
        f.applicant.area = "urban".into();
        let m = &mut f.members[0];
        m.health = "disabled".into();
        m.disability_grade = "2".into();
        m.labour = "none".into();
        m.schooling = "graduated".into();
        m.marital = "married".into();
        f.income.push(IncomeForm {
            category: "transfer".into(),
            period: "monthly".into(),
            amount_fen: 123_450,
            ..Default::default()
        });
        f.housing.kind = "rented".into();
        f.housing.condition = "poor".into();
        f.hardship = vec!["disability".into()];
        f.assistance = vec!["dibao".into()];
        f.conclusion.opinion = "eligible".into();
        f.visit.started_at = 1_700_000_000_000;
        f
    }

    #[test]
    fn a_complete_form_can_be_signed_and_an_incomplete_one_says_what_is_missing() {
        validate_for_signing(&complete_form()).unwrap();
        let mut f = valid_form();
        f.members[0].health = "disabled".into();
        validate_form(&f).unwrap();
        let errors = validate_for_signing(&f).unwrap_err();
        for (path, message) in [
            ("applicant.registered_address", "请填写户籍地址"),
            ("applicant.community", "请填写所在社区/村"),
            ("applicant.area", "请选择城市或农村"),
            ("members.0.disability_grade", "请选择残疾等级"),
            ("members.0.labour", "请选择劳动能力"),
            ("members.0.schooling", "请选择就学情况"),
            ("members.0.marital", "请选择婚姻状况"),
            ("hardship", "请至少选择一项致贫原因"),
            ("assistance", "请至少选择一项申请救助类型"),
            ("housing.kind", "请选择住房性质"),
            ("conclusion.opinion", "请选择调查结论"),
            ("visit.started_at", "请记录入户调查开始时间"),
        ] {
            assert_eq!(errors.get(path), Some(message), "{path}");
        }
        assert_eq!(errors.get("members.0.health"), None);
    }

    #[test]
    fn bad_values_in_every_section_are_named_by_path() {
        let mut f = complete_form();
        f.income.push(IncomeForm {
            category: "lottery".into(),
            period: "weekly".into(),
            amount_fen: -1,
            member: "nobody".into(),
            ..Default::default()
        });
        f.income.push(IncomeForm {
            category: "wages".into(),
            period: "annual".into(),
            amount_fen: MAX_AMOUNT_FEN + 1,
            ..Default::default()
        });
        f.members[0].health = "healthy".into();
        f.members[0].marital = "complicated".into();
        f.assets.deposits_fen = -5;
        f.assets.houses_area_m2x100 = 100;
        f.housing.kind = "castle".into();
        f.hardship.push("boredom".into());
        f.visit.started_at = 10;
        f.visit.ended_at = 5;
        f.visit.gps_status = "ok".into();
        f.visit.lat_e6 = 91_000_000;
        f.origin = "discovery".into();
        f.neighbour_visits.push(NeighbourVisitForm::default());
        let e = validate_form(&f).unwrap_err();
        for (path, message) in [
            ("income.1.category", "请选择收入类别"),
            ("income.1.period", "请选择按月或按年"),
            ("income.1.amount_fen", "金额不能为负数"),
            ("income.1.member", "所选家庭成员不存在或已移除"),
            ("income.2.amount_fen", "金额超出范围，请核对"),
            (
                "members.0.disability_grade",
                "健康状况为残疾时才填写残疾等级",
            ),
            ("members.0.marital", "婚姻状况的取值无效，请重新选择"),
            ("assets.deposits_fen", "金额不能为负数"),
            ("assets.houses_count", "填写了房屋面积，请填写房屋套数"),
            ("housing.kind", "住房性质的取值无效，请重新选择"),
            ("hardship", "未知的致贫原因：boredom"),
            ("visit.ended_at", "结束时间不能早于开始时间"),
            ("visit.lat_e6", "纬度超出范围"),
            ("discovery.kind", "请选择困难类型"),
            ("discovery.description", "请简要描述发现的情况"),
            ("neighbour_visits.0.name", "请填写受访邻居姓名"),
            ("neighbour_visits.0.statement", "请记录邻居反映的情况"),
        ] {
            assert_eq!(e.get(path), Some(message), "{path}");
        }
        assert_eq!(e.0.len(), 17, "{e:?}");
    }

    #[test]
    fn a_discovery_report_may_wait_for_the_id_number_but_signing_may_not() {
        let mut f = CaseForm {
            origin: "discovery".into(),
            ..Default::default()
        };
        f.applicant.name = "王某".into();
        f.discovery.kind = "accident".into();
        f.discovery.description = "房屋失火，一家四口无处居住".into();
        f.discovery.urgent = true;
        assert_eq!(validate_form(&f), Ok(()));
        let e = validate_for_signing(&f).unwrap_err();
        assert_eq!(e.get("applicant.id_number"), Some("请填写身份证号"));
        f.origin = "application".into();
        let e = validate_form(&f).unwrap_err();
        assert_eq!(e.get("applicant.id_number"), Some("请填写身份证号"));
    }

    #[test]
    fn every_section_goes_from_form_to_document_and_back() {
        let mut f = complete_form();
        f.assets.deposits_fen = 5_000_000;
        f.assets.houses_count = 1;
        f.expenses.medical_fen_annual = 1_200_000;
        f.narrative = " 老人常年卧床 ".into();
        f.conclusion.text = "符合条件".into();
        f.discovery.kind = "illness".into();
        f.neighbour_visits.push(NeighbourVisitForm {
            name: "张大妈".into(),
            relation_or_address: "对门".into(),
            statement: "属实".into(),
            by_user: "u1".into(),
            by_name: "刘调查".into(),
            ..Default::default()
        });
        let mut case = CaseDoc::new_case(
            CaseId::from_random_bytes([3; 16]),
            &UnitId::new("goukou").unwrap(),
            10,
        );
        let mut n = 0u8;
        f.apply_to(&mut case, 10, || {
            n += 1;
            MemberId::from_random_bytes([n; 16])
        });
        assert_eq!(case.narrative, "老人常年卧床");
        assert_eq!(
            case.neighbour_visits.values().next().unwrap().visited_at,
            10
        );
        assert_eq!(case.hardship.get("disability"), Some(&true));
        let back = CaseForm::from_case(&case);
        // The same form, with the ids the document gave the new items.
        let mut expected = f.clone();
        expected.case_id = back.case_id;
        expected.members[0].id = back.members[0].id;
        expected.income[0].id = back.income[0].id;
        expected.neighbour_visits[0].id = back.neighbour_visits[0].id;
        expected.neighbour_visits[0].visited_at = 10;
        expected.narrative = "老人常年卧床".into();
        expected.origin = "application".into();
        expected.applicant.id_number = "11010519491231002X".into();
        assert_eq!(back, expected);
        assert!(back.income[0].id.is_some());

        // Unchoosing a cause writes false; removing an item keeps it, flagged.
        let mut edit = back.clone();
        edit.hardship.clear();
        edit.hardship.push("illness".into());
        edit.income[0].removed = true;
        edit.apply_to(&mut case, 20, || MemberId::from_random_bytes([9; 16]));
        assert_eq!(case.hardship.get("disability"), Some(&false));
        assert_eq!(CaseDoc::chosen(&case.hardship), vec!["illness".to_string()]);
        assert_eq!(case.income.len(), 1);
        assert!(case.income.values().all(|i| i.removed));
        assert!(CaseForm::from_case(&case).income.is_empty());
    }

    #[test]
    fn a_form_in_the_old_json_shape_still_parses() {
        let json = r#"{"case_id":null,
            "applicant":{"name":"王秀兰","id_number":"11010519491231002X","phone":"","address":"幸福里"},
            "members":[{"id":null,"name":"李建国","relation":"spouse","id_number":"","removed":false}]}"#;
        let f: CaseForm = serde_json::from_str(json).unwrap();
        assert_eq!(f.applicant.address, "幸福里");
        assert_eq!(f.members[0].health, "");
        assert!(f.income.is_empty());
        validate_form(&f).unwrap();
    }
}
