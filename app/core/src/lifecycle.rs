//! The case lifecycle on the device: steps of the procedure made offline as the session's
//! user and role, the lifecycle view (state, history, allowed steps, conflicts), conflict
//! resolution, community deliberation, public notice and objections, spot-check records,
//! re-check categories and the offline list of re-checks due.
//!
//! Every write is one Automerge commit (`shared::case::lifecycle_doc`) stored with the
//! case's summary and dirty flag in one SQLite transaction, like a form save; the server
//! re-checks each transition when it arrives and flags, never drops, one that fails.

use automerge::{ActorId, Automerge};
use hecha_shared::api::Role;
use hecha_shared::app_api::{
    DeliberationRequest, LifecycleConflictOptionView, LifecycleConflictView, LifecycleEntryView,
    LifecycleView, NoticeRequest, NoticeView, ObjectionHandlingRequest, ObjectionRequest,
    ObjectionView, RecheckCategoryRequest, RecheckDueItem, RecheckView, ResolveLifecycleRequest,
    SpotCheckRequest, TransitionOption, TransitionRequest,
};
use hecha_shared::case::lifecycle_doc::{
    self as ld, date_of_ms, parse_date, Deliberation, Entry, LifecycleDoc, LifecycleDocError,
    Notice, Objection, ObjectionHandling, RecheckSetting, SpotCheck, SpotCheckItem, NOTICE_DAYS,
};
use hecha_shared::case::{self, derive as figures, CaseDoc, ChangeNote, FieldErrors};
use hecha_shared::id_number::Date;
use hecha_shared::lifecycle::{
    self, Actor, Derived, LifecycleRecord, LifecycleState, ProposeError, RecordId, TransitionRecord,
};
use hecha_shared::recheck::{DueStatus, RecheckPolicy};
use hecha_shared::CaseId;

use crate::docs;
use crate::error::{CoreError, CoreResult};
use crate::store::session::{self, SessionRow};
use crate::store::{cases, Store};

fn enrolled(store: &Store) -> CoreResult<SessionRow> {
    session::get(store.conn())?.ok_or(CoreError::NotEnrolled)
}

fn note(session: &SessionRow, action: &str) -> ChangeNote {
    ChangeNote {
        action: action.into(),
        author: session.display_name.clone(),
        device: session.device_id.to_string(),
    }
}

fn load(store: &Store, actor: &ActorId, id: CaseId) -> CoreResult<Automerge> {
    let record = cases::get(store.conn(), id)?
        .filter(|r| !r.placeholder)
        .ok_or(CoreError::CaseNotFound(id))?;
    docs::load(&record.doc, actor)
}

fn save(store: &mut Store, id: CaseId, doc: &Automerge, now_ms: i64) -> CoreResult<()> {
    let tx = store.transaction()?;
    cases::save_local(&tx, id, &doc.save(), &docs::summarise(doc, now_ms))?;
    tx.commit()?;
    Ok(())
}

fn refused(message: impl Into<String>) -> CoreError {
    CoreError::Lifecycle(message.into())
}

fn map_doc_error(e: LifecycleDocError) -> CoreError {
    match e {
        LifecycleDocError::Invalid(fields) => CoreError::Validation(fields),
        LifecycleDocError::Automerge(_) | LifecycleDocError::Reconcile(_) => {
            CoreError::Corrupt(e.to_string())
        }
        other => refused(other.message_zh()),
    }
}

fn field_error(field: &str, message: &str) -> CoreError {
    let mut errors = FieldErrors::default();
    errors.0.insert(field.into(), message.into());
    CoreError::Validation(errors)
}

fn new_actor(session: &SessionRow, now_ms: i64) -> Actor {
    Actor {
        id: RecordId::from_random_bytes(rand::random()),
        user: session.user_id,
        role: session.role,
        at_ms: now_ms,
    }
}

fn today(now_ms: i64) -> Date {
    date_of_ms(now_ms)
}

/// `transition_case`: one step of the procedure, checked against the session's role, the
/// state and the case's content (refusals: code `lifecycle`, the rule's Chinese message).
pub(crate) fn transition_case(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: TransitionRequest,
) -> CoreResult<LifecycleView> {
    let session = enrolled(store)?;
    let t = lifecycle::Transition::from_code(req.transition.trim())
        .ok_or_else(|| field_error("transition", "未知的流程步骤"))?;
    let mut doc = load(store, actor, req.case_id)?;
    let c = case::read_case(&doc)?;
    let lc = ld::read(&doc);
    let facts = lc.preconditions(&doc, &c, today(now_ms), NOTICE_DAYS, &req.comment);
    ld::write_transition(
        &mut doc,
        t,
        &new_actor(&session, now_ms),
        &session.display_name,
        &facts,
        &note(&session, &format!("lifecycle:{}", t.code())),
        now_ms,
    )
    .map_err(map_doc_error)?;
    save(store, req.case_id, &doc, now_ms)?;
    view_of(&doc, req.case_id, session.role, now_ms)
}

/// `resolve_lifecycle_conflict`: a supervisor's or the bureau's choice.
pub(crate) fn resolve_lifecycle_conflict(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: ResolveLifecycleRequest,
) -> CoreResult<LifecycleView> {
    let session = enrolled(store)?;
    let chosen: RecordId = req
        .chosen_record
        .trim()
        .parse()
        .map_err(|_| field_error("chosen_record", "请选择一条记录"))?;
    let mut doc = load(store, actor, req.case_id)?;
    ld::write_resolution(
        &mut doc,
        chosen,
        &new_actor(&session, now_ms),
        &session.display_name,
        &req.comment,
        &note(&session, "lifecycle:resolve"),
        now_ms,
    )
    .map_err(map_doc_error)?;
    save(store, req.case_id, &doc, now_ms)?;
    view_of(&doc, req.case_id, session.role, now_ms)
}

/// `case_lifecycle`.
pub(crate) fn case_lifecycle(
    store: &Store,
    actor: &ActorId,
    now_ms: i64,
    id: CaseId,
) -> CoreResult<LifecycleView> {
    let session = enrolled(store)?;
    let doc = load(store, actor, id)?;
    view_of(&doc, id, session.role, now_ms)
}

/// Who may record a section, in which states of the case, and what it is called.
struct SectionRule<'a> {
    roles: &'a [Role],
    states: &'a [LifecycleState],
    what: &'a str,
}

/// Writes a section entry after checking the session's role and the case's state.
fn write_section(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    id: Option<CaseId>,
    SectionRule {
        roles,
        states,
        what,
    }: SectionRule<'_>,
    make: impl FnOnce(&SessionRow, &LifecycleDoc, &CaseDoc) -> CoreResult<Entry>,
) -> CoreResult<LifecycleView> {
    let session = enrolled(store)?;
    let id = id.ok_or_else(|| field_error("case_id", "请先保存个案"))?;
    if !roles.contains(&session.role) {
        let allowed: Vec<&str> = roles.iter().map(|r| r.label_zh()).collect();
        return Err(refused(format!(
            "{}无权{}（仅限{}）",
            session.role.label_zh(),
            what,
            allowed.join("、")
        )));
    }
    let mut doc = load(store, actor, id)?;
    let c = case::read_case(&doc)?;
    let lc = ld::read(&doc);
    let state = lc.derive().state;
    if !states.contains(&state) {
        let labels: Vec<&str> = states.iter().map(|s| s.label_zh()).collect();
        return Err(refused(format!(
            "案件当前处于“{}”，不能{}（须处于“{}”）",
            state.label_zh(),
            what,
            labels.join("”或“")
        )));
    }
    let entry = make(&session, &lc, &c)?;
    ld::write_entry(
        &mut doc,
        &entry,
        &note(&session, "lifecycle:record"),
        now_ms,
    )
    .map_err(map_doc_error)?;
    save(store, id, &doc, now_ms)?;
    view_of(&doc, id, session.role, now_ms)
}

fn new_id() -> String {
    RecordId::from_random_bytes(rand::random()).to_string()
}

pub(crate) fn record_deliberation(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: DeliberationRequest,
) -> CoreResult<LifecycleView> {
    write_section(
        store,
        actor,
        now_ms,
        req.case_id,
        SectionRule {
            roles: &[Role::Verifier, Role::Supervisor],
            states: &[LifecycleState::Deliberation],
            what: "登记群众评议",
        },
        |s, _, c| {
            let photos: Vec<&str> = c
                .active_photos()
                .iter()
                .map(|p| p.sha256.as_str())
                .collect();
            if let Some(missing) = req
                .sign_in_photos
                .iter()
                .position(|h| !photos.contains(&h.as_str()))
            {
                return Err(field_error(
                    &format!("sign_in_photos.{missing}"),
                    "签到表照片须先添加到本个案的照片中",
                ));
            }
            Ok(Entry::Deliberation(Deliberation {
                id: new_id(),
                held_on: req.held_on.trim().into(),
                place: req.place.trim().into(),
                representatives: req.representatives,
                points: req.points,
                outcome: req.outcome,
                summary: req.summary.trim().into(),
                sign_in_photos: req.sign_in_photos,
                by_user: s.user_id.to_string(),
                by_name: s.display_name.clone(),
                at_ms: now_ms,
            }))
        },
    )
}

pub(crate) fn record_notice(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: NoticeRequest,
) -> CoreResult<LifecycleView> {
    write_section(
        store,
        actor,
        now_ms,
        req.case_id,
        SectionRule {
            roles: &[Role::Supervisor, Role::Bureau],
            states: &[LifecycleState::PublicNotice],
            what: "登记公示",
        },
        |s, _, _| {
            Ok(Entry::Notice(Notice {
                id: new_id(),
                start: req.start.trim().into(),
                days: i64::from(req.days.unwrap_or(NOTICE_DAYS)),
                place: req.place.trim().into(),
                by_user: s.user_id.to_string(),
                by_name: s.display_name.clone(),
                at_ms: now_ms,
            }))
        },
    )
}

pub(crate) fn record_objection(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: ObjectionRequest,
) -> CoreResult<LifecycleView> {
    write_section(
        store,
        actor,
        now_ms,
        req.case_id,
        SectionRule {
            roles: &[Role::Verifier, Role::Supervisor, Role::Bureau],
            states: &[LifecycleState::PublicNotice],
            what: "登记公示异议",
        },
        |s, lc, _| {
            Ok(Entry::Objection(Objection {
                id: new_id(),
                notice: lc.notices.last().map(|n| n.id.clone()).unwrap_or_default(),
                raised_by: req.raised_by.trim().into(),
                content: req.content.trim().into(),
                raised_on: req.raised_on.trim().into(),
                by_user: s.user_id.to_string(),
                by_name: s.display_name.clone(),
                at_ms: now_ms,
            }))
        },
    )
}

pub(crate) fn handle_objection(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: ObjectionHandlingRequest,
) -> CoreResult<LifecycleView> {
    write_section(
        store,
        actor,
        now_ms,
        req.case_id,
        SectionRule {
            roles: &[Role::Supervisor, Role::Bureau],
            states: &[LifecycleState::PublicNotice, LifecycleState::BureauDecision],
            what: "处理公示异议",
        },
        |s, lc, _| {
            if !lc.objections.iter().any(|o| o.id == req.objection_id) {
                return Err(field_error("objection_id", "没有这条异议"));
            }
            if lc.handlings.iter().any(|h| h.objection == req.objection_id) {
                return Err(refused("这条异议已经处理过了"));
            }
            Ok(Entry::ObjectionHandling(ObjectionHandling {
                id: new_id(),
                objection: req.objection_id.clone(),
                handling: req.handling.trim().into(),
                upheld: req.upheld,
                by_user: s.user_id.to_string(),
                by_name: s.display_name.clone(),
                at_ms: now_ms,
            }))
        },
    )
}

pub(crate) fn set_recheck_category(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: RecheckCategoryRequest,
) -> CoreResult<LifecycleView> {
    let policy = RecheckPolicy::default();
    if policy.category(req.category.trim()).is_none() {
        return Err(field_error("category", "请选择复核类别"));
    }
    write_section(
        store,
        actor,
        now_ms,
        req.case_id,
        SectionRule {
            roles: &[Role::Verifier, Role::Supervisor, Role::Bureau],
            states: &[
                LifecycleState::Active,
                LifecycleState::Recheck,
                LifecycleState::Adjusted,
            ],
            what: "设置复核类别",
        },
        |s, _, _| {
            Ok(Entry::Recheck(RecheckSetting {
                id: new_id(),
                category: req.category.trim().into(),
                last_check: req.last_check.trim().into(),
                by_user: s.user_id.to_string(),
                by_name: s.display_name.clone(),
                at_ms: now_ms,
            }))
        },
    )
}

/// The figures a spot check compares, as the case holds them.
fn spot_items(c: &CaseDoc, req: &SpotCheckRequest) -> Vec<SpotCheckItem> {
    let assets = &c.assets;
    let yuan = |fen: i64| hecha_shared::money::format_fen(fen);
    vec![
        SpotCheckItem {
            field: "household_size".into(),
            label: "家庭人口".into(),
            original: figures::household_size(c).to_string(),
            revisit: req.household_size.to_string(),
        },
        SpotCheckItem {
            field: "annual_income_fen".into(),
            label: "家庭年收入（元）".into(),
            original: yuan(figures::annual_income_fen(c)),
            revisit: yuan(req.annual_income_fen),
        },
        SpotCheckItem {
            field: "deposits_fen".into(),
            label: "存款（元）".into(),
            original: yuan(assets.deposits_fen),
            revisit: yuan(req.deposits_fen),
        },
        SpotCheckItem {
            field: "houses_count".into(),
            label: "房产（套）".into(),
            original: assets.houses_count.to_string(),
            revisit: req.houses_count.to_string(),
        },
        SpotCheckItem {
            field: "vehicles_count".into(),
            label: "车辆（辆）".into(),
            original: assets.vehicles_count.to_string(),
            revisit: req.vehicles_count.to_string(),
        },
    ]
}

pub(crate) fn record_spot_check(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: SpotCheckRequest,
) -> CoreResult<LifecycleView> {
    write_section(
        store,
        actor,
        now_ms,
        req.case_id,
        SectionRule {
            roles: &[Role::Verifier, Role::Supervisor, Role::Bureau],
            states: &[
                LifecycleState::Active,
                LifecycleState::Recheck,
                LifecycleState::Adjusted,
                LifecycleState::Rejected,
                LifecycleState::Exited,
            ],
            what: "登记抽查复核",
        },
        |s, _, c| {
            let items = spot_items(c, &req);
            let outcome = match req.outcome.trim() {
                "" if items.iter().all(SpotCheckItem::consistent) => "consistent".to_string(),
                "" => "discrepancy".to_string(),
                other => other.to_string(),
            };
            Ok(Entry::SpotCheck(SpotCheck {
                id: new_id(),
                revisit_on: req.revisit_on.trim().into(),
                items,
                findings: req.findings.trim().into(),
                outcome,
                by_user: s.user_id.to_string(),
                by_name: s.display_name.clone(),
                at_ms: now_ms,
            }))
        },
    )
}

/// `recheck_due`: every recipient case held on this device with its re-check dates,
/// overdue first, then by due date; cases without a category (or due date) last.
pub(crate) fn recheck_due(
    store: &Store,
    actor: &ActorId,
    today: Date,
) -> CoreResult<Vec<RecheckDueItem>> {
    let policy = RecheckPolicy::default();
    let mut out: Vec<(Option<Date>, RecheckDueItem)> = Vec::new();
    for summary in cases::list(store.conn(), "")? {
        let doc = load(store, actor, summary.case_id)?;
        let lc = ld::read(&doc);
        let derived = lc.derive();
        let Some(info) = lc.recheck(&derived, &policy, today) else {
            continue;
        };
        out.push((
            info.next_due,
            RecheckDueItem {
                case_id: summary.case_id,
                applicant_name: summary.applicant_name,
                state: derived.state.code().into(),
                state_label: derived.state.label_zh().into(),
                recheck: recheck_view(&policy, &info),
            },
        ));
    }
    out.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.applicant_name.cmp(&b.1.applicant_name),
    });
    Ok(out.into_iter().map(|(_, item)| item).collect())
}

/// Parses the `today` a caller passes (`YYYY-MM-DD`), else the clock's day.
pub(crate) fn today_or(now_ms: i64, given: Option<&str>) -> CoreResult<Date> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today(now_ms)),
        Some(s) => parse_date(s).ok_or_else(|| field_error("today", "日期格式应为YYYY-MM-DD")),
    }
}

fn recheck_view(policy: &RecheckPolicy, info: &ld::RecheckInfo) -> RecheckView {
    RecheckView {
        category: info.category.clone(),
        category_label: info
            .category
            .as_deref()
            .and_then(|c| policy.category(c))
            .map(|c| c.label_zh.clone()),
        last_check: info.last_check.map(|d| d.to_string()),
        next_due: info.next_due.map(|d| d.to_string()),
        due: info.status.map(|s| {
            match s {
                DueStatus::Upcoming { .. } => "upcoming",
                DueStatus::DueToday => "due_today",
                DueStatus::Overdue { .. } => "overdue",
            }
            .to_string()
        }),
        due_label: info.status.map(|s| s.label_zh()),
    }
}

// ---------------------------------------------------------------------------------------
// The view

fn entry_view(
    lc: &LifecycleDoc,
    record: &LifecycleRecord,
    status: &str,
    reason: Option<String>,
) -> Option<LifecycleEntryView> {
    let name = |id: RecordId| lc.names.get(&id).cloned().unwrap_or_default();
    let (kind, t, id, by_user, role, at_ms, comment): (_, &TransitionRecord, _, _, _, _, _) =
        match record {
            LifecycleRecord::Transition(t) => (
                "transition",
                t,
                t.id,
                t.by_user,
                t.by_role,
                t.at_ms,
                t.comment.clone(),
            ),
            LifecycleRecord::Resolution(r) => (
                "resolution",
                lc.transition(r.chosen)?,
                r.id,
                r.by_user,
                r.by_role,
                r.at_ms,
                r.comment.clone(),
            ),
        };
    Some(LifecycleEntryView {
        record_id: id.to_string(),
        kind: kind.into(),
        transition: t.transition.code().into(),
        transition_label: if kind == "resolution" {
            format!("处理流程冲突：采纳“{}”", t.transition.label_zh())
        } else {
            t.transition.label_zh().into()
        },
        from: t.from.code().into(),
        from_label: t.from.label_zh().into(),
        to: t.to.code().into(),
        to_label: t.to.label_zh().into(),
        by_user: by_user.to_string(),
        by_name: name(id),
        role: role.code().into(),
        role_label: role.label_zh().into(),
        at_ms,
        comment,
        status: status.into(),
        set_aside_reason: reason,
    })
}

fn record_of(lc: &LifecycleDoc, id: RecordId) -> Option<&LifecycleRecord> {
    lc.records.iter().find(|r| r.id() == id)
}

/// The lifecycle view of a document for a user of `role` on the day of `now_ms`.
pub(crate) fn view_of(
    doc: &Automerge,
    id: CaseId,
    role: Role,
    now_ms: i64,
) -> CoreResult<LifecycleView> {
    let c = case::read_case(doc)?;
    let lc = ld::read(doc);
    let derived: Derived = lc.derive();
    let today = today(now_ms);

    // History: applied transitions in the derivation's order, each resolution right
    // after the step it chose (device clocks do not order it).
    let mut history: Vec<LifecycleEntryView> = Vec::new();
    for rid in &derived.applied {
        if let Some(e) = record_of(&lc, *rid).and_then(|r| entry_view(&lc, r, "applied", None)) {
            history.push(e);
        }
        for res in &derived.resolutions {
            if lc.resolution(*res).is_some_and(|r| r.chosen == *rid) {
                if let Some(e) =
                    record_of(&lc, *res).and_then(|r| entry_view(&lc, r, "applied", None))
                {
                    history.push(e);
                }
            }
        }
    }
    let set_aside = derived
        .set_aside
        .iter()
        .filter_map(|s| {
            let r = record_of(&lc, s.id)?;
            entry_view(&lc, r, "set_aside", Some(s.reason.label_zh().to_string()))
        })
        .collect();

    let conflicts = derived
        .conflicts
        .iter()
        .map(|conflict| LifecycleConflictView {
            from: conflict.from.code().into(),
            from_label: conflict.from.label_zh().into(),
            options: conflict
                .options
                .iter()
                .map(|o| LifecycleConflictOptionView {
                    to: o.to.code().into(),
                    to_label: o.to.label_zh().into(),
                    records: o
                        .records
                        .iter()
                        .filter_map(|rid| record_of(&lc, *rid))
                        .filter_map(|r| entry_view(&lc, r, "in_conflict", None))
                        .collect(),
                })
                .collect(),
            resolutions: conflict
                .resolutions
                .iter()
                .filter_map(|rid| record_of(&lc, *rid))
                .filter_map(|r| entry_view(&lc, r, "in_conflict", None))
                .collect(),
            bureau_only: conflict.bureau_only,
            can_resolve: match role {
                Role::Bureau => true,
                Role::Supervisor => !conflict.bureau_only,
                Role::Verifier | Role::Admin => false,
            },
        })
        .collect();

    // The steps this role may take, each with what still blocks it (a reason is asked
    // for when the step is taken, so it does not block here).
    let mut facts = lc.preconditions(doc, &c, today, NOTICE_DAYS, "");
    facts.comment = "-".into();
    let allowed = derived
        .state
        .transitions()
        .into_iter()
        .filter(|t| t.allowed_roles().contains(&role))
        .map(|t| TransitionOption {
            transition: t.code().into(),
            label: t.label_zh().into(),
            to: t.target().code().into(),
            to_label: t.target().label_zh().into(),
            needs_reason: t.needs_reason(),
            blocked: if derived.has_conflict() {
                Some(ProposeError::Conflicted.message_zh())
            } else {
                lifecycle::transition(derived.state, t, role, &facts)
                    .err()
                    .map(|e| e.message_zh())
            },
        })
        .collect();

    let notice = lc
        .current_notice(&derived, NOTICE_DAYS)
        .map(|(start, days)| {
            let recorded = lc
                .notices
                .last()
                .filter(|n| parse_date(&n.start) == Some(start));
            NoticeView {
                start: start.to_string(),
                days,
                end: hecha_shared::calendar::add_days(start, i64::from(days))
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                recorded: recorded.is_some(),
                place: recorded.map(|n| n.place.clone()).unwrap_or_default(),
            }
        });
    let objections = lc
        .objections
        .iter()
        .map(|o| ObjectionView {
            objection: o.clone(),
            handling: lc.handlings.iter().find(|h| h.objection == o.id).cloned(),
        })
        .collect();
    let policy = RecheckPolicy::default();
    let recheck = lc
        .recheck(&derived, &policy, today)
        .map(|info| recheck_view(&policy, &info));

    Ok(LifecycleView {
        case_id: id,
        state: derived.state.code().into(),
        label: derived.state.label_zh().into(),
        history,
        set_aside,
        allowed,
        conflicts,
        deliberations: lc.deliberations.clone(),
        notice,
        objections,
        spot_checks: lc.spot_checks.clone(),
        recheck,
    })
}

#[cfg(test)]
mod tests;
