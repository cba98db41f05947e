//! What `POST /api/v1/sync` does with a decoded request (the contract is the module doc of
//! `hecha_shared::sync`): answer each document's Automerge sync message from a fresh
//! sync state, store a document whose heads moved (with a new change sequence number and
//! its ledger columns, in one transaction), then list the caller's changed cases.
//!
//! The server keeps no per-device sync state: every message is answered from a fresh
//! `automerge::sync::State`, which works because each message carries the sender's heads
//! and a summary of what it has.
//!
//! Provenance: a device may bring only changes written with its own registered actor.
//! Devices talk only to the server, so any change of another actor that a device could
//! hold came from the server, which has it already; a message that would add a change
//! of another actor is rejected whole and nothing is written. The check looks at the
//! changes that actually entered the document after the merge (whatever chunk format
//! the message used: single changes, concatenated changes or a compressed document),
//! and changes whose dependencies are missing (orphans) are never stored, so no
//! unchecked change can be applied later.

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, Automerge, SaveOptions};
use hecha_shared::case::{load_document, read_case};
use hecha_shared::sync::{
    Cursor, DocMessage, DocReply, SyncRequest, SyncResponse, MAX_CHANGED_PER_RESPONSE,
    PROTOCOL_VERSION,
};
use hecha_shared::{CaseId, UnitId};
use rusqlite::TransactionBehavior;

use crate::auth::{Caller, Scope};
use crate::db::cases::{self, CaseScope};
use crate::db::meta;
use crate::db::scope::{self as db_scope, ScopeEvent};
use crate::error::ApiError;
use crate::ledger::{self, CaseColumns};
use crate::AppState;

/// Carries out one sync request for `caller` (blocking: SQLite and Automerge work).
pub(crate) fn run(
    state: &AppState,
    caller: &Caller,
    request: SyncRequest,
) -> Result<SyncResponse, ApiError> {
    let scope = caller.scope();
    let docs = sync_docs(state, caller, &scope, request.docs)?;
    let (mut changed, cursor, more) = match scope.cases() {
        Some(cases) => changed_since(state, cases, request.cursor)?,
        None => (Vec::new(), request.cursor, false),
    };
    let after = i64::try_from(request.cursor.0).unwrap_or(i64::MAX);
    let moved = state
        .db()
        .read(|conn| scope_changes(conn, caller, &scope, after))?;
    if !moved.backfill.is_empty() {
        let listed: std::collections::HashSet<CaseId> = changed.iter().copied().collect();
        let mut older: Vec<CaseId> = moved
            .backfill
            .into_iter()
            .filter(|id| !listed.contains(id))
            .collect();
        older.append(&mut changed);
        changed = older;
    }
    Ok(SyncResponse {
        // Answered in the request's own protocol (a protocol-1 answer has no `gone`).
        protocol: request.protocol.min(PROTOCOL_VERSION),
        docs,
        changed,
        cursor,
        more,
        gone: moved.gone,
    })
}

/// What scope changes since a device's cursor mean for it.
#[derive(Debug, Default)]
struct ScopeChanges {
    /// Cases it may hold that are no longer in its scope.
    gone: Vec<CaseId>,
    /// Cases its scope gained wholesale (its user moved to another unit), older than the
    /// cursor: listed as changed so the device fetches them.
    backfill: Vec<CaseId>,
}

/// The cases that left `scope` after `after` (transferred out of a unit the device's user
/// belonged to, an assignment withdrawn, the user moved out of a unit), less those still
/// in scope; and, when the user moved, the new scope's cases the cursor already passed.
/// Repeating this for a later request with the same cursor gives the same answer, so a
/// lost response loses nothing.
fn scope_changes(
    conn: &mut rusqlite::Connection,
    caller: &Caller,
    scope: &Scope,
    after: i64,
) -> rusqlite::Result<ScopeChanges> {
    if matches!(scope, Scope::All | Scope::Nothing) {
        return Ok(ScopeChanges::default());
    }
    let tx = conn.transaction()?;
    let events = db_scope::events_since(&tx, caller.user.user_id, after)?;
    if events.is_empty() {
        return Ok(ScopeChanges::default());
    }
    let mut had_units: Vec<UnitId> = Vec::new();
    if let Scope::Unit { unit, .. } = scope {
        had_units.push(unit.clone());
    }
    let mut moved_user = false;
    for event in &events {
        if let ScopeEvent::UserLeftUnit { unit, .. } = event {
            moved_user = true;
            if !had_units.contains(unit) {
                had_units.push(unit.clone());
            }
        }
    }
    let mut candidates: Vec<CaseId> = Vec::new();
    for event in &events {
        match event {
            ScopeEvent::CaseLeftUnit { case_id, unit } if had_units.contains(unit) => {
                candidates.push(*case_id);
            }
            ScopeEvent::CaseLeftUnit { .. } => {}
            ScopeEvent::Unassigned { case_id, .. } => candidates.push(*case_id),
            ScopeEvent::UserLeftUnit { unit, .. } => {
                candidates.extend(db_scope::cases_of_unit(&tx, unit)?);
            }
        }
    }
    candidates.sort();
    candidates.dedup();
    let mut gone = Vec::new();
    for case_id in candidates {
        let in_scope = match cases::unit_of(&tx, case_id)? {
            Some(unit) => scope.allows(&tx, case_id, &unit)?,
            None => false,
        };
        if !in_scope {
            gone.push(case_id);
        }
    }
    let backfill = match (moved_user, scope.cases()) {
        (true, Some(cases)) => cases::in_scope_upto(&tx, cases, after)?,
        _ => Vec::new(),
    };
    tx.commit()?;
    Ok(ScopeChanges { gone, backfill })
}

/// Answers a request's documents, in order. Many documents (a tablet's first sync asks
/// for hundreds at a time) are answered on two threads: loading a document and making its
/// message is Automerge work that runs in parallel (writes still take the one writer).
fn sync_docs(
    state: &AppState,
    caller: &Caller,
    scope: &Scope,
    messages: Vec<DocMessage>,
) -> Result<Vec<DocReply>, ApiError> {
    const PARALLEL_FROM: usize = 16;
    if messages.len() < PARALLEL_FROM {
        return messages
            .into_iter()
            .map(|m| sync_doc(state, caller, scope, m))
            .collect();
    }
    let mut first = messages;
    let second = first.split_off(first.len() / 2);
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| {
            second
                .into_iter()
                .map(|m| sync_doc(state, caller, scope, m))
                .collect::<Result<Vec<_>, ApiError>>()
        });
        let mine = first
            .into_iter()
            .map(|m| sync_doc(state, caller, scope, m))
            .collect::<Result<Vec<_>, ApiError>>();
        let theirs = other
            .join()
            .unwrap_or_else(|_| Err(ApiError::internal("a sync worker thread panicked")));
        (mine, theirs)
    });
    let mut out = a?;
    out.extend(b?);
    Ok(out)
}

/// The ids of the cases in scope written after `cursor` (in write order, at most
/// [`MAX_CHANGED_PER_RESPONSE`]) and the cursor to send next: the last listed when more
/// are left, else the current sequence number. One read transaction, so both agree.
fn changed_since(
    state: &AppState,
    scope: CaseScope<'_>,
    cursor: Cursor,
) -> Result<(Vec<CaseId>, Cursor, bool), ApiError> {
    let after = i64::try_from(cursor.0).unwrap_or(i64::MAX);
    state.db().read(|conn| {
        let tx = conn.transaction()?;
        let mut rows = cases::changed_since(&tx, scope, after, MAX_CHANGED_PER_RESPONSE + 1)?;
        let more = rows.len() > MAX_CHANGED_PER_RESPONSE;
        rows.truncate(MAX_CHANGED_PER_RESPONSE);
        // With everything listed, the cursor moves to the current sequence number, past
        // any scope event after the last listed write (else it would be told again).
        let last = match rows.last() {
            Some((_, seq)) if more => *seq,
            _ => meta::current_seq(&tx)?,
        };
        tx.commit()?;
        let cursor = Cursor(u64::try_from(last).unwrap_or(0));
        Ok((rows.into_iter().map(|(id, _)| id).collect(), cursor, more))
    })
}

/// One document of the request. Errors are the server's own (database); everything
/// wrong with the device's message is a `Rejected` reply.
fn sync_doc(
    state: &AppState,
    caller: &Caller,
    scope: &Scope,
    doc_message: DocMessage,
) -> Result<DocReply, ApiError> {
    let case_id = doc_message.case_id;
    let message = match Message::decode(&doc_message.message) {
        Ok(message) => message,
        Err(e) => {
            tracing::info!(%case_id, error = %e, "undecodable sync message");
            return Ok(rejected(case_id, "同步消息无法解析"));
        }
    };
    if matches!(scope, Scope::Nothing) {
        return Ok(DocReply::Unavailable { case_id });
    }
    if message.changes.is_empty() {
        answer_without_changes(state, caller, scope, case_id, message)
    } else {
        apply_changes(state, caller, scope, case_id, message)
    }
}

/// A message without changes cannot change the document: answer it from a reader.
fn answer_without_changes(
    state: &AppState,
    caller: &Caller,
    scope: &Scope,
    case_id: CaseId,
    message: Message,
) -> Result<DocReply, ApiError> {
    let stored = state.db().read(|conn| -> rusqlite::Result<_> {
        match cases::unit_of(conn, case_id)? {
            Some(unit) if scope.allows(conn, case_id, &unit)? => cases::load_doc(conn, case_id),
            _ => Ok(None),
        }
    })?;
    let Some(stored) = stored else {
        return Ok(DocReply::Unavailable { case_id });
    };
    let Some(mut doc) = load_stored(case_id, &stored) else {
        return Ok(rejected(case_id, "服务器上的案件数据无法读取"));
    };
    Ok(match exchange(&mut doc, message, &caller.actor) {
        Ok(outcome) => reply(case_id, outcome.reply),
        Err(refusal) => refused(case_id, caller, refusal),
    })
}

/// A message with changes: load, merge and store under the writer lock, so two devices
/// changing one case at once cannot overwrite each other's changes.
fn apply_changes(
    state: &AppState,
    caller: &Caller,
    scope: &Scope,
    case_id: CaseId,
    message: Message,
) -> Result<DocReply, ApiError> {
    let home_unit: &UnitId = &caller.user.unit;
    let now_ms = state.now_ms();
    state.db().write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = cases::unit_of(&tx, case_id)?;
        let is_new = existing.is_none();
        let (unit, mut doc) = match existing {
            Some(unit) if !scope.allows(&tx, case_id, &unit)? => {
                return Ok(DocReply::Unavailable { case_id })
            }
            Some(unit) => {
                let bytes = cases::load_doc(&tx, case_id)?.unwrap_or_default();
                match load_stored(case_id, &bytes) {
                    Some(doc) => (unit, doc),
                    None => return Ok(rejected(case_id, "服务器上的案件数据无法读取")),
                }
            }
            // A case the server has not seen: it belongs to the unit of whoever brings
            // it, whatever the document says.
            None => (home_unit.clone(), Automerge::new()),
        };
        // The lifecycle records held before, to re-check the ones this message adds.
        let lifecycle_before = crate::lifecycle_check::record_ids(&doc);
        let heads_before = doc.get_heads();
        let outcome = match exchange(&mut doc, message, &caller.actor) {
            Ok(outcome) => outcome,
            // Returning drops the transaction: nothing of this message is written.
            Err(refusal) => return Ok(refused(case_id, caller, refusal)),
        };
        if outcome.heads_changed && caller.user.read_only {
            tracing::info!(%case_id, device_id = %caller.device_id, "read-only account's change refused");
            return Ok(rejected(
                case_id,
                "本账号为只读账号，不能修改个案；本设备上的修改未被服务器接受",
            ));
        }
        if outcome.heads_changed {
            let columns = match read_case(&doc) {
                Ok(case) if case.case_id != case_id.to_string() => {
                    tracing::info!(%case_id, doc_case_id = %case.case_id, "case id mismatch");
                    return Ok(rejected(case_id, "文档的案件编号与请求不符"));
                }
                Ok(case) => ledger::columns(&doc, &case),
                Err(e) => {
                    tracing::info!(%case_id, error = %e, "stored a document that is not (yet) a whole case");
                    CaseColumns::default()
                }
            };
            let seq = meta::next_seq(&tx)?;
            let bytes = doc.save_with_options(SaveOptions {
                retain_orphans: false,
                ..SaveOptions::default()
            });
            cases::save(
                &tx,
                case_id,
                &unit,
                Some(caller.user.user_id),
                &bytes,
                seq,
                &columns,
                now_ms,
            )?;
            // The bureau's verifiers see only assigned cases: what they bring is theirs.
            if let (true, Scope::Assigned(user)) = (is_new, scope) {
                db_scope::assign(&tx, case_id, *user, None, now_ms)?;
            }
            // Lifecycle steps that fail the server's re-check are flagged, never dropped.
            let findings = crate::lifecycle_check::check(
                &doc,
                &lifecycle_before,
                &heads_before,
                caller.user.user_id,
                caller.user.role,
                now_ms,
            );
            crate::lifecycle_check::store(
                &tx,
                case_id,
                caller.user.user_id,
                caller.device_id,
                &findings,
                now_ms,
            )?;
            // Who may upload and read a photo follows the cases that name it.
            crate::db::blobs::add_refs(&tx, case_id, &hecha_shared::blob::referenced_blobs(&doc))?;
            tx.commit()?;
            tracing::debug!(%case_id, seq, "case stored");
        }
        Ok(reply(case_id, outcome.reply))
    })
}

pub(crate) fn load_stored(case_id: CaseId, bytes: &[u8]) -> Option<Automerge> {
    match catch_unwind(|| load_document(bytes).map_err(|e| e.to_string())) {
        Ok(Ok(doc)) => Some(doc),
        Ok(Err(e)) => {
            tracing::error!(%case_id, error = %e, "stored document does not load");
            None
        }
        Err(_) => {
            tracing::error!(%case_id, "loading a stored document panicked");
            None
        }
    }
}

/// What answering one sync message did.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The message brought changes the document did not have.
    pub heads_changed: bool,
    /// The answer, encoded.
    pub reply: Vec<u8>,
}

/// Why a message was not taken into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It brought a change the server did not have, written by another actor (hex).
    ForeignActor(String),
    /// Automerge could not take it in (the detail is for the log).
    Unmergeable(String),
}

/// The pure core: receives `message` into `doc` with a fresh sync state, checks that
/// every change it added was written by `author`, and generates the answer. On a refusal
/// (or a panic inside Automerge on hostile input) `doc` must be thrown away.
pub(crate) fn exchange(
    doc: &mut Automerge,
    message: Message,
    author: &ActorId,
) -> Result<Exchange, Refusal> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let before = doc.get_heads();
        let mut state = State::new();
        doc.receive_sync_message(&mut state, message)
            .map_err(|e| Refusal::Unmergeable(e.to_string()))?;
        let heads_changed = doc.get_heads() != before;
        if heads_changed {
            // The changes not among the ancestors of the old heads: exactly the new ones.
            let added = doc.get_changes_meta(&before);
            if let Some(foreign) = added.iter().find(|c| c.actor.as_ref() != author) {
                return Err(Refusal::ForeignActor(foreign.actor.to_hex_string()));
            }
        }
        // A fresh state has never responded, so Automerge always has something to say.
        let reply = doc
            .generate_sync_message(&mut state)
            .ok_or_else(|| Refusal::Unmergeable("no sync message to send".to_string()))?;
        Ok(Exchange {
            heads_changed,
            reply: reply.encode(),
        })
    }));
    outcome.unwrap_or_else(|_| {
        Err(Refusal::Unmergeable(
            "automerge panicked on the message".to_string(),
        ))
    })
}

fn reply(case_id: CaseId, message: Vec<u8>) -> DocReply {
    DocReply::Message(DocMessage { case_id, message })
}

fn rejected(case_id: CaseId, reason: &str) -> DocReply {
    DocReply::Rejected {
        case_id,
        reason: reason.to_string(),
    }
}

fn refused(case_id: CaseId, caller: &Caller, refusal: Refusal) -> DocReply {
    match refusal {
        Refusal::ForeignActor(actor) => {
            tracing::warn!(
                %case_id,
                device_id = %caller.device_id,
                registered_actor = %caller.actor,
                foreign_actor = %actor,
                "sync message carries a change of another actor: rejected"
            );
            rejected(
                case_id,
                "同步消息含有不是本设备写入的修改，已拒收（修改来源与本设备登记的标识不符）",
            )
        }
        Refusal::Unmergeable(detail) => {
            tracing::info!(%case_id, %detail, "sync message not accepted");
            rejected(case_id, "同步消息无法合并到案件中")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;
    use hecha_shared::case::{create_document, CaseDoc, ChangeNote, Member};

    fn case(id: CaseId) -> CaseDoc {
        let mut case = CaseDoc::new_case(id, &UnitId::new("chaoyang").unwrap(), 1_000);
        case.applicant.name = " 王秀兰 ".into();
        case.applicant.id_number = "11010519491231002x".into();
        case.members.insert(
            "m1".into(),
            Member {
                name: "李建国".into(),
                relation: "spouse".into(),
                id_number: String::new(),
                added_at: 1,
                removed: false,
                ..Default::default()
            },
        );
        case
    }

    fn note() -> ChangeNote {
        ChangeNote {
            action: "create".into(),
            author: "测试".into(),
            device: "d".into(),
        }
    }

    /// The first message a device sends for a case the server has never seen: all of it.
    fn push_all(device: &Automerge) -> Message {
        let mut device = device.clone();
        let mut device_state = State::new();
        let empty = Automerge::new()
            .generate_sync_message(&mut State::new())
            .unwrap();
        device
            .receive_sync_message(&mut device_state, empty)
            .unwrap();
        device.generate_sync_message(&mut device_state).unwrap()
    }

    #[test]
    fn a_message_with_the_whole_case_fills_an_empty_document() {
        let id = CaseId::from_random_bytes([3; 16]);
        let device = create_document(ActorId::from(vec![1u8; 16]), &case(id), &note(), 0).unwrap();
        let mut server = Automerge::new();
        let author = ActorId::from(vec![1u8; 16]);
        let outcome = exchange(&mut server, push_all(&device), &author).unwrap();
        assert!(outcome.heads_changed);
        assert_eq!(server.get_heads(), device.get_heads());
        let answer = Message::decode(&outcome.reply).unwrap();
        assert_eq!(answer.heads, device.get_heads());

        // The same message again changes nothing.
        let again = exchange(&mut server, push_all(&device), &author).unwrap();
        assert!(!again.heads_changed);
    }

    #[test]
    fn only_new_changes_of_another_actor_are_refused() {
        let id = CaseId::from_random_bytes([5; 16]);
        let a = ActorId::from(vec![0xaa; 16]);
        let b = ActorId::from(vec![0xbb; 16]);
        let by_a = create_document(a.clone(), &case(id), &note(), 0).unwrap();

        // B cannot bring A's change to a server that lacks it; the document is untouched.
        let mut server = Automerge::new();
        assert_eq!(
            exchange(&mut server, push_all(&by_a), &b).unwrap_err(),
            Refusal::ForeignActor(a.to_hex_string())
        );

        // Once the server has it, B may send it back along with B's own change.
        let mut server = Automerge::new();
        exchange(&mut server, push_all(&by_a), &a).unwrap();
        let mut on_b = by_a.fork().with_actor(b.clone());
        let mut edited = read_case(&on_b).unwrap();
        edited.applicant.phone = "13800000000".into();
        hecha_shared::case::write_case(&mut on_b, &edited, &note(), 1).unwrap();
        let outcome = exchange(&mut server, push_all(&on_b), &b).unwrap();
        assert!(outcome.heads_changed);
        assert_eq!(server.get_heads(), on_b.get_heads());
    }
}
