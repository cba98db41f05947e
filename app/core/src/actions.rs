//! Every user action of the app, one function each. `Core`'s methods take the store lock,
//! call these, and map their errors once into `AppError`.

use std::sync::atomic::Ordering;

use automerge::ActorId;
use hecha_shared::api::{EnrolRedeemRequest, LoginRequest, LoginResponse};
use hecha_shared::app_api::{
    AppError, CaseSummary, CaseView, EnrolRequest, ResolveRequest, SessionInfo, SyncReport,
    SyncState, SyncStatus,
};
use hecha_shared::case::{self, CaseDoc, CaseForm, ChangeNote, FieldErrors};
use hecha_shared::{CaseId, MemberId};

use crate::docs;
use crate::error::{CoreError, CoreResult};
use crate::store::session::{self, SessionRow};
use crate::store::{cases, device, Store};
use crate::sync_client::{self, http};
use crate::Inner;

/// Fields whose conflicts a person can settle by picking one of the values (text fields;
/// flags and numbers are never edited concurrently by the forms).
const RESOLVABLE_FIELDS: &[&str] = &[
    "name",
    "id_number",
    "phone",
    "address",
    "relation",
    "status",
];

pub(crate) fn enrolled(store: &Store) -> CoreResult<SessionRow> {
    session::get(store.conn())?.ok_or(CoreError::NotEnrolled)
}

pub(crate) fn note(session: &SessionRow, action: &str) -> ChangeNote {
    ChangeNote {
        action: action.into(),
        author: session.display_name.clone(),
        device: session.device_id.to_string(),
    }
}

/// Logs in to a server and stores the session (the device's token and who uses it).
pub(crate) async fn enrol(inner: &Inner, req: EnrolRequest) -> CoreResult<SessionInfo> {
    let mut errors = FieldErrors::default();
    let server_url = req.server_url.trim().trim_end_matches('/').to_string();
    if server_url.is_empty() {
        errors
            .0
            .insert("server_url".into(), "请填写服务器地址".into());
    } else if !(server_url.starts_with("http://") || server_url.starts_with("https://")) {
        errors.0.insert(
            "server_url".into(),
            "服务器地址应以 http:// 或 https:// 开头".into(),
        );
    }
    let code = req
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if code.is_none() {
        if req.username.trim().is_empty() {
            errors.0.insert("username".into(), "请填写用户名".into());
        }
        if req.password.is_empty() {
            errors.0.insert("password".into(), "请填写密码".into());
        }
    }
    if !errors.is_empty() {
        return Err(CoreError::Validation(errors));
    }
    if let Some(code) = code {
        return enrol_with_code(inner, server_url, code).await;
    }
    // Another account (or server) may take over this device only once everything captured
    // here is on the server. Its cases are then removed from the device (least privilege)
    // and it writes with a new actor id (the server attributes each actor to one person).
    let switching = inner.with_store(|s| {
        let Some(old) = session::get(s.conn())? else {
            return Ok(false);
        };
        let switching = old.server_url != server_url || old.username != req.username.trim();
        if switching {
            refuse_switch_with_unsynced(s)?;
        }
        Ok(switching)
    })?;
    let actor = if switching {
        ActorId::from(rand::random::<[u8; 16]>())
    } else {
        inner.actor()?
    };
    let actor_hex = actor.to_hex_string();
    let login = LoginRequest {
        username: req.username.trim().to_string(),
        password: req.password,
        device_name: format!(
            "Hecha {} {}",
            std::env::consts::OS,
            actor_hex.get(..8).unwrap_or(&actor_hex)
        ),
        actor_id: actor_hex,
    };
    let answer = http::login(&inner.http, &server_url, &login).await?;
    store_enrolment(inner, server_url, answer, switching, actor)
}

/// Enrols with a one-time code. Who the device will belong to is known only from the
/// answer, so it always writes with a new actor id, and a device holding unsynced cases
/// is refused first (they must reach the server under the old account).
async fn enrol_with_code(
    inner: &Inner,
    server_url: String,
    code: String,
) -> CoreResult<SessionInfo> {
    inner.with_store(|s| refuse_switch_with_unsynced(s))?;
    let actor = ActorId::from(rand::random::<[u8; 16]>());
    let actor_hex = actor.to_hex_string();
    let request = EnrolRedeemRequest {
        code,
        device_name: format!(
            "Hecha {} {}",
            std::env::consts::OS,
            actor_hex.get(..8).unwrap_or(&actor_hex)
        ),
        actor_id: actor_hex,
    };
    let answer = http::redeem(&inner.http, &server_url, &request).await?;
    let switching = inner.with_store(|s| {
        Ok(match session::get(s.conn())? {
            Some(old) => old.server_url != server_url || old.user_id != answer.user.user_id,
            None => false,
        })
    })?;
    // The new actor is used whether or not the account changes.
    inner.with_store(|s| {
        let tx = s.transaction()?;
        device::replace(&tx, &actor, inner.clock.now_ms())?;
        tx.commit()?;
        Ok(())
    })?;
    inner.set_actor(actor.clone())?;
    store_enrolment(inner, server_url, answer, switching, actor)
}

/// Stores the session of a successful login or code enrolment; when another account (or
/// server) takes the device over, its cases go and it writes with `actor` from now on.
fn store_enrolment(
    inner: &Inner,
    server_url: String,
    answer: LoginResponse,
    switching: bool,
    actor: ActorId,
) -> CoreResult<SessionInfo> {
    let row = SessionRow {
        server_url,
        token: answer.token,
        user_id: answer.user.user_id,
        username: answer.user.username,
        display_name: answer.user.display_name,
        role: answer.user.role,
        unit: answer.user.unit,
        unit_name: answer.user.unit_name,
        device_id: answer.device_id,
        cursor: Default::default(),
        last_sync_ms: None,
        last_state: None,
        last_error: None,
    };
    let now_ms = inner.clock.now_ms();
    inner.with_store(|s| {
        if switching {
            // Checked again: a case may have been saved while we were logging in.
            refuse_switch_with_unsynced(s)?;
        }
        let tx = s.transaction()?;
        if switching {
            cases::delete_all(&tx)?;
            crate::store::drafts::delete_all(&tx)?;
            device::replace(&tx, &actor, now_ms)?;
        }
        session::enrol(&tx, &row)?;
        tx.commit()?;
        Ok(())
    })?;
    if switching {
        inner.set_actor(actor)?;
    }
    Ok(row.info())
}

fn refuse_switch_with_unsynced(store: &Store) -> CoreResult<()> {
    let unsynced = cases::unsynced_count(store.conn())?;
    if unsynced == 0 {
        return Ok(());
    }
    let mut errors = FieldErrors::default();
    errors.0.insert(
        "username".into(),
        format!("本机还有{unsynced}个未同步的个案，请先用原账号同步后再更换账号"),
    );
    Err(CoreError::Validation(errors))
}

/// After a revocation, once the person has seen which unsynced cases are lost: wipes the
/// device's case data and photo files and forgets the session (the device may then be
/// enrolled again). Refused while the device is not revoked.
pub(crate) fn acknowledge_revocation(inner: &Inner) -> CoreResult<()> {
    inner.with_store(|s| {
        let revoked =
            session::get(s.conn())?.is_some_and(|row| row.last_state == Some(SyncState::Revoked));
        if !revoked {
            return Err(CoreError::NotRevoked);
        }
        let tx = s.transaction()?;
        cases::delete_all(&tx)?;
        session::delete(&tx)?;
        // Whatever else the device keeps about cases (photo queues, drafts…).
        for table in ["photos", "photo_uploads", "drafts", "signatures"] {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |r| r.get(0),
            )?;
            if exists {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
        }
        tx.commit()?;
        Ok(())
    })?;
    let blobs = inner.data_dir.join(crate::store::blobs::BLOBS_DIR);
    match std::fs::remove_dir_all(&blobs) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(CoreError::Io(e)),
    }
    tracing::warn!("revocation acknowledged: local case data and photos wiped");
    Ok(())
}

pub(crate) fn session(store: &Store) -> CoreResult<Option<SessionInfo>> {
    Ok(session::get(store.conn())?.map(|s| s.info()))
}

pub(crate) fn list_cases(store: &Store, search: &str) -> CoreResult<Vec<CaseSummary>> {
    cases::list(store.conn(), search)
}

fn view(store: &Store, doc: &automerge::Automerge, unsynced: bool) -> CoreResult<CaseView> {
    let c = case::read_case(doc)?;
    let (signatures, missing_signatures) = crate::visit::signature_views(doc)?;
    Ok(CaseView {
        form: CaseForm::from_case(&c),
        conflicts: docs::conflict_views(doc, &c),
        unsynced,
        photos: crate::photos::attach::views(&c),
        hint: crate::visit::hint_for(store, &c)?,
        signatures,
        missing_signatures,
    })
}

pub(crate) fn load_existing(
    store: &Store,
    actor: &ActorId,
    id: CaseId,
) -> CoreResult<(cases::CaseRecord, automerge::Automerge)> {
    let record = cases::get(store.conn(), id)?
        .filter(|r| !r.placeholder)
        .ok_or(CoreError::CaseNotFound(id))?;
    let doc = docs::load(&record.doc, actor)?;
    Ok((record, doc))
}

pub(crate) fn get_case(store: &Store, actor: &ActorId, id: CaseId) -> CoreResult<CaseView> {
    let (record, doc) = load_existing(store, actor, id)?;
    view(store, &doc, record.dirty)
}

/// Validates, then writes the form as one Automerge commit; the document, its summary
/// and the dirty flag are stored in one transaction. An unchanged form writes nothing.
pub(crate) fn save_case(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    form: CaseForm,
) -> CoreResult<CaseId> {
    let session = enrolled(store)?;
    case::validate_form(&form).map_err(CoreError::Validation)?;
    let form = with_author(form, &session, now_ms);
    let (id, doc) = match form.case_id {
        Some(id) => {
            let (_, mut doc) = load_existing(store, actor, id)?;
            let mut c = case::read_case(&doc)?;
            form.apply_to(&mut c, now_ms, MemberId::new_random);
            match case::write_case(&mut doc, &c, &note(&session, "save"), now_ms)? {
                Some(_) => (id, doc),
                None => {
                    crate::visit::clear_draft_after_save(store.conn(), &form, id)?;
                    return Ok(id);
                }
            }
        }
        None => {
            let id = CaseId::new_random();
            let mut c = CaseDoc::new_case(id, &session.unit, now_ms);
            form.apply_to(&mut c, now_ms, MemberId::new_random);
            let doc = case::create_document(actor.clone(), &c, &note(&session, "create"), now_ms)?;
            (id, doc)
        }
    };
    let tx = store.transaction()?;
    cases::save_local(&tx, id, &doc.save(), &docs::summarise(&doc, now_ms))?;
    crate::visit::clear_draft_after_save(&tx, &form, id)?;
    tx.commit()?;
    Ok(id)
}

/// Fills what the form does not carry: who made a new neighbour visit, and who reported a
/// discovery and when (the session's user, now).
fn with_author(mut form: CaseForm, session: &SessionRow, now_ms: i64) -> CaseForm {
    for v in form.neighbour_visits.iter_mut().filter(|v| v.id.is_none()) {
        if v.by_user.is_empty() {
            v.by_user = session.user_id.to_string();
        }
        if v.by_name.trim().is_empty() {
            v.by_name = session.display_name.clone();
        }
    }
    if form.origin == hecha_shared::case::Origin::Discovery.code() {
        let d = &mut form.discovery;
        if d.reported_by.is_empty() {
            d.reported_by = session.user_id.to_string();
        }
        if d.reported_at <= 0 {
            d.reported_at = now_ms;
        }
    }
    form
}

/// Records a person's choice for a conflicting field (one commit; the case becomes dirty
/// so the choice reaches the server and, from there, the other devices).
pub(crate) fn resolve_conflict(
    store: &mut Store,
    actor: &ActorId,
    now_ms: i64,
    req: ResolveRequest,
) -> CoreResult<CaseView> {
    let session = enrolled(store)?;
    let (record, mut doc) = load_existing(store, actor, req.case_id)?;
    let c = case::read_case(&doc)?;
    let field = req.path.join(".");
    let Some(conflict) = docs::conflict_views(&doc, &c)
        .into_iter()
        .find(|v| v.path == req.path)
    else {
        // Already settled (here, or elsewhere and synced in): show how it stands.
        return view(store, &doc, record.dirty);
    };
    let resolvable = req
        .path
        .last()
        .is_some_and(|k| RESOLVABLE_FIELDS.contains(&k.as_str()));
    let offered = conflict.values.iter().any(|v| v.value == req.value);
    if !resolvable || !offered {
        let mut errors = FieldErrors::default();
        errors.0.insert(
            field,
            if resolvable {
                "请从冲突的取值中选择一个".into()
            } else {
                "此项冲突不能在这里处理".into()
            },
        );
        return Err(CoreError::Validation(errors));
    }
    case::resolve_conflict(
        &mut doc,
        &req.path,
        &req.value,
        &note(&session, "resolve"),
        now_ms,
    )?;
    let tx = store.transaction()?;
    cases::save_local(
        &tx,
        req.case_id,
        &doc.save(),
        &docs::summarise(&doc, now_ms),
    )?;
    tx.commit()?;
    view(store, &doc, true)
}

pub(crate) fn sync_status(store: &Store, syncing: bool) -> CoreResult<SyncStatus> {
    let unsynced_cases = cases::unsynced_count(store.conn())?;
    let left_scope_unsynced = cases::left_scope_names(store.conn())?;
    let Some(session) = session::get(store.conn())? else {
        return Ok(SyncStatus {
            state: SyncState::NotEnrolled,
            unsynced_cases,
            last_synced_at_ms: None,
            last_error: None,
            photos_pending: 0,
            revocation_reason: None,
            unsynced_case_names: Vec::new(),
            left_scope_unsynced,
        });
    };
    if session.last_state == Some(SyncState::Revoked) {
        // The reason is stored in place of an error text; empty: none given.
        let reason = session.last_error.filter(|r| !r.is_empty());
        return Ok(SyncStatus {
            state: SyncState::Revoked,
            unsynced_cases,
            last_synced_at_ms: session.last_sync_ms,
            last_error: Some(match &reason {
                Some(r) => format!("本设备已被停用：{r}"),
                None => "本设备已被停用".to_string(),
            }),
            photos_pending: 0,
            revocation_reason: reason,
            unsynced_case_names: cases::unsynced_names(store.conn())?,
            left_scope_unsynced,
        });
    }
    let state = if syncing {
        SyncState::Syncing
    } else {
        // Before any attempt the successful login is the last contact with the server.
        session.last_state.unwrap_or(SyncState::Synced)
    };
    Ok(SyncStatus {
        state,
        unsynced_cases,
        last_synced_at_ms: session.last_sync_ms,
        last_error: session.last_error,
        photos_pending: 0,
        revocation_reason: None,
        unsynced_case_names: Vec::new(),
        left_scope_unsynced,
    })
}

/// Resets the "syncing" mark however a run ends (also when its future is dropped).
struct SyncingMark<'a>(&'a Inner);

impl Drop for SyncingMark<'_> {
    fn drop(&mut self) {
        self.0.syncing.store(false, Ordering::SeqCst);
    }
}

/// One sync run (one at a time), its outcome recorded for [`sync_status`].
pub(crate) async fn sync_now(inner: &Inner) -> Result<SyncReport, AppError> {
    let _one_at_a_time = inner.sync_gate.lock().await;
    inner.syncing.store(true, Ordering::SeqCst);
    let _mark = SyncingMark(inner);
    // A revoked device's token is dead: nothing more is tried.
    let revoked = inner.with_store(|s| {
        Ok(session::get(s.conn())?
            .filter(|row| row.last_state == Some(SyncState::Revoked))
            .map(|row| row.last_error.filter(|r| !r.is_empty())))
    });
    let result = match revoked {
        Ok(Some(reason)) => return Err(AppError::from(CoreError::Revoked(reason))),
        Ok(None) => sync_client::run(inner).await,
        Err(e) => Err(e),
    };
    let now_ms = inner.clock.now_ms();
    match result {
        Ok(done) => {
            let error = done.rejected.first().map(|(_, reason)| {
                format!("有{}个个案未被服务器接受：{reason}", done.rejected.len())
            });
            inner
                .with_store(|s| {
                    session::record_outcome(
                        s.conn(),
                        SyncState::Synced,
                        error.as_deref(),
                        Some(now_ms),
                    )
                })
                .map_err(AppError::from)?;
            Ok(done.report)
        }
        Err(e) => {
            let state = e.sync_state();
            // A revocation keeps the bureau's reason (empty: none) in place of the message.
            let stored = match &e {
                CoreError::Revoked(reason) => Some(reason.clone().unwrap_or_default()),
                _ => None,
            };
            let app = AppError::from(e);
            if let Some(state) = state {
                let text = stored.unwrap_or_else(|| app.message.clone());
                inner
                    .with_store(|s| session::record_outcome(s.conn(), state, Some(&text), None))
                    .map_err(AppError::from)?;
            }
            Err(app)
        }
    }
}
